/**
 * A DmaAllocator that hands out guest memory upwards from `base` and never
 * frees: what tests and benchmarks use in place of the kernel's page allocator.
 */

import type { DmaAllocator } from '../../ring/dmaAllocator.js';

export class BumpAllocator implements DmaAllocator {
  private next: number;
  constructor(
    private readonly limit: number,
    base = 0x1000,
  ) {
    this.next = base;
  }
  /** @throws RangeError when the region is exhausted */
  alloc(bytes: number, align: number): number {
    const at = Math.ceil(this.next / align) * align;
    if (at + bytes > this.limit) throw new RangeError(`out of DMA memory: ${bytes} bytes wanted at ${at}, limit ${this.limit}`);
    this.next = at + bytes;
    return at;
  }
  /** First byte not yet handed out. */
  get top(): number {
    return this.next;
  }
}
