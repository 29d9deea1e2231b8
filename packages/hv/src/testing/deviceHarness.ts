/**
 * Test support: one device on a fake bus in this process, with the virtio
 * package's real driver side (VirtioMmioDriver, VirtqueueDriver) talking to
 * it the way a guest kernel would, register access for register access. The
 * device sees exactly what it sees in a machine — MMIO reads and writes at
 * offsets in its window, rings in a SharedArrayBuffer — without worker
 * threads, so tests can also play the hostile guest.
 */
import type { DmaAllocator, MmioBus } from '@osv-ts/virtio/driver';
import { VirtioMmioDriver } from '@osv-ts/virtio/driver';
import type { MmioDevice } from '../mmioBus.js';
import type { DeviceWiring } from '../devices/virtioMmioDevice.js';

/** Where the harness puts the device's window (any address works: the bus subtracts it). */
export const HARNESS_BASE = 0x4000_0000;

/** A bump allocator over a region of guest memory. */
export class BumpDma implements DmaAllocator {
  constructor(
    private next: number,
    private readonly limit: number,
  ) {}

  /** The first byte not handed out yet. */
  get top(): number {
    return this.next;
  }

  alloc(bytes: number, align: number): number {
    const at = Math.ceil(this.next / align) * align;
    if (at + bytes > this.limit) throw new RangeError(`test DMA region exhausted (${bytes} bytes wanted)`);
    this.next = at + bytes;
    return at;
  }
}

/** A device and a driver for it, in one process. */
export class DeviceHarness {
  readonly memory: SharedArrayBuffer;
  readonly mem: Uint8Array;
  readonly logs: string[] = [];
  readonly dma: BumpDma;
  readonly bus: MmioBus;
  readonly driver: VirtioMmioDriver;
  readonly device: MmioDevice;
  /** Interrupts the device raised. */
  irqs = 0;
  /** Exceptions that escaped the device's read() or write() (the hv must never see one). */
  readonly escaped: unknown[] = [];

  /**
   * @param memBytes guest memory size
   * @param make builds the device from its wiring
   * @param dmaFrom where the DMA region starts (everything below is never handed out)
   * @param dmaTo where it ends (default: the end of memory)
   */
  constructor(memBytes: number, make: (w: DeviceWiring) => MmioDevice, dmaFrom = 0x1000, dmaTo = memBytes) {
    this.memory = new SharedArrayBuffer(memBytes);
    this.mem = new Uint8Array(this.memory);
    this.dma = new BumpDma(dmaFrom, dmaTo);
    this.device = make({ memory: this.memory, raiseIrq: () => this.irqs++, log: (m) => this.logs.push(m) });
    this.bus = {
      read32: (a) => this.read(a - HARNESS_BASE, 4),
      write32: (a, v) => this.write(a - HARNESS_BASE, 4, v),
      read16: (a) => this.read(a - HARNESS_BASE, 2),
      read8: (a) => this.read(a - HARNESS_BASE, 1),
      write16: (a, v) => this.write(a - HARNESS_BASE, 2, v),
      write8: (a, v) => this.write(a - HARNESS_BASE, 1, v),
    };
    this.driver = new VirtioMmioDriver(this.bus, HARNESS_BASE);
  }

  /** An MMIO read as the exit server does it; an exception is recorded in `escaped`. */
  read(offset: number, size: number): number {
    try {
      return this.device.read(offset, size);
    } catch (e) {
      this.escaped.push(e);
      return 0;
    }
  }

  /** An MMIO write as the exit server does it; an exception is recorded in `escaped`. */
  write(offset: number, size: number, value: number): void {
    try {
      this.device.write(offset, size, value);
    } catch (e) {
      this.escaped.push(e);
    }
  }

  /** Whether the device set DEVICE_NEEDS_RESET. */
  needsReset(): boolean {
    return this.driver.needsReset();
  }
}
