/**
 * The MMIO bus: maps physical addresses of the device windows to devices.
 * Device i owns [MMIO_BASE + i·MMIO_WINDOW, MMIO_BASE + (i+1)·MMIO_WINDOW).
 */
import { MMIO_BASE, MMIO_WINDOW } from './abi.js';

/** A device register file on the MMIO bus. Neither method may throw. */
export interface MmioDevice {
  /** Virtio device ID, published in the boot page's device table. */
  readonly deviceId: number;
  /** Short name for logs and the manifest ("console", "block"...). */
  readonly kind: string;
  /** A synchronous register read of `size` bytes at `offset` in the window. */
  read(offset: number, size: number): number;
  /** A posted register write. */
  write(offset: number, size: number, value: number): void;
  /** Releases host resources at power-off (flush output, close files). */
  close?(): Promise<void> | void;
}

/** Reads of addresses no device claims return all ones, as on a real bus. */
export const UNCLAIMED_READ = 0xffffffff;

/** The devices of one machine, in slot order. */
export class MmioBus {
  private readonly devices: MmioDevice[] = [];
  /** Called for accesses no device claims (a guest bug worth seeing). */
  onUnclaimed: (addr: number, write: boolean) => void = () => {};

  /** Attaches a device in the next slot and returns its window's base address. */
  attach(device: MmioDevice): number {
    this.devices.push(device);
    return MMIO_BASE + (this.devices.length - 1) * MMIO_WINDOW;
  }

  /** The attached devices in slot order. */
  get all(): readonly MmioDevice[] {
    return this.devices;
  }

  read(addr: number, size: number): number {
    const slot = Math.floor((addr - MMIO_BASE) / MMIO_WINDOW);
    const dev = addr >= MMIO_BASE ? this.devices[slot] : undefined;
    if (!dev) {
      this.onUnclaimed(addr, false);
      return UNCLAIMED_READ;
    }
    return dev.read(addr - MMIO_BASE - slot * MMIO_WINDOW, size);
  }

  write(addr: number, size: number, value: number): void {
    const slot = Math.floor((addr - MMIO_BASE) / MMIO_WINDOW);
    const dev = addr >= MMIO_BASE ? this.devices[slot] : undefined;
    if (!dev) {
      this.onUnclaimed(addr, true);
      return;
    }
    dev.write(addr - MMIO_BASE - slot * MMIO_WINDOW, size, value);
  }
}
