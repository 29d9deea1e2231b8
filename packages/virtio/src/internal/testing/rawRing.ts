/**
 * Writes ring structures directly, bypassing VirtqueueDriver, so tests can
 * build what a hostile or buggy guest would: any descriptor, any avail entry,
 * any index.
 */

import { VIRTQ_DESC_LAYOUT, virtqAvailLayout } from '../../ring/virtqLayout.js';

export class RawRing {
  private readonly dv: DataView;
  constructor(
    memory: SharedArrayBuffer,
    readonly size: number,
    readonly descAddr: number,
    readonly driverAddr: number,
    readonly deviceAddr: number,
  ) {
    this.dv = new DataView(memory);
  }
  /** Writes descriptor `i` of the table at `table` (the queue's own table by default). */
  desc(i: number, addr: number, len: number, flags: number, next = 0, table = this.descAddr): void {
    const at = table + i * VIRTQ_DESC_LAYOUT.SIZE;
    this.dv.setUint32(at + VIRTQ_DESC_LAYOUT.addr.offset, addr % 2 ** 32, true);
    this.dv.setUint32(at + VIRTQ_DESC_LAYOUT.addr.offset + 4, Math.floor(addr / 2 ** 32), true);
    this.dv.setUint32(at + VIRTQ_DESC_LAYOUT.len.offset, len, true);
    this.dv.setUint16(at + VIRTQ_DESC_LAYOUT.flags.offset, flags, true);
    this.dv.setUint16(at + VIRTQ_DESC_LAYOUT.next.offset, next, true);
  }
  /** Puts `heads` on the available ring starting at entry `from` and sets avail idx to from + heads.length. */
  publish(heads: readonly number[], from = 0): void {
    const a = virtqAvailLayout(this.size);
    heads.forEach((h, k) => this.dv.setUint16(this.driverAddr + a.ring.offset + ((from + k) % this.size) * 2, h, true));
    this.setAvailIdx((from + heads.length) & 0xffff);
  }
  setAvailIdx(idx: number): void {
    this.dv.setUint16(this.driverAddr + virtqAvailLayout(this.size).idx.offset, idx, true);
  }
}
