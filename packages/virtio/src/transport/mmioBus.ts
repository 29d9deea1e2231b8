/**
 * How the driver side reaches device registers: the kernel's MMIO accessors.
 * Each access is a VM exit (a read is synchronous, 4-65 µs; a write is posted
 * but still an exit), so VirtioMmioDriver reads registers only at setup, for
 * config reads, and once per interrupt.
 */
export interface MmioBus {
  /** Reads the 32-bit little-endian register at absolute physical address `addr` (up to 2^53). */
  read32(addr: number): number;
  /** Writes a 32-bit register (posted). */
  write32(addr: number, value: number): void;
  /**
   * 8- and 16-bit accessors for device-specific configuration space, which the
   * spec wants accessed at each field's width (4.2.2.2). When absent, the driver
   * reads the aligned 32-bit word and extracts (and refuses narrow writes).
   */
  read8?(addr: number): number;
  /** 16-bit read (configuration space only). */
  read16?(addr: number): number;
  /** 8-bit write (configuration space only). */
  write8?(addr: number, value: number): void;
  /** 16-bit write (configuration space only). */
  write16?(addr: number, value: number): void;
}
