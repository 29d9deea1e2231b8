/**
 * An MmioBus that forwards every access in one window straight to an
 * MmioTransportDevice, the way the hv forwards VM exits: lets the driver side
 * and the device side meet in one process. Counts accesses so tests can check
 * the driver's exit budget.
 */

import type { MmioBus } from '../../transport/mmioBus.js';
import type { MmioTransportDevice } from '../../transport/mmioTransportDevice.js';

export class LoopbackBus implements MmioBus {
  reads = 0;
  writes = 0;
  constructor(
    readonly base: number,
    readonly device: MmioTransportDevice,
  ) {}
  read32(addr: number): number {
    this.reads++;
    return this.device.read(addr - this.base, 4);
  }
  write32(addr: number, value: number): void {
    this.writes++;
    this.device.write(addr - this.base, 4, value);
  }
  read16(addr: number): number {
    this.reads++;
    return this.device.read(addr - this.base, 2);
  }
  read8(addr: number): number {
    this.reads++;
    return this.device.read(addr - this.base, 1);
  }
  write16(addr: number, value: number): void {
    this.writes++;
    this.device.write(addr - this.base, 2, value);
  }
  write8(addr: number, value: number): void {
    this.writes++;
    this.device.write(addr - this.base, 1, value);
  }
}
