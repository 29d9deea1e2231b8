/**
 * Frames an address-space change has detached and that must not be reused
 * until every vCPU has dropped its translations: the change pushes them here,
 * runs the TLB shootdown, then releases the batch (one reference each).
 * Per-vCPU, reused across operations (grows, never shrinks).
 */
import type { PageAllocator } from '../pageAllocator.js';

/** A growable list of pfns awaiting release after a shootdown. */
export class FrameBatch {
  private pfns = new Int32Array(256);
  /** Entries in use. */
  length = 0;

  /** Adds a frame. */
  push(pfn: number): void {
    if (this.length === this.pfns.length) {
      const bigger = new Int32Array(this.pfns.length * 2);
      bigger.set(this.pfns);
      this.pfns = bigger;
    }
    this.pfns[this.length++] = pfn;
  }

  /** Drops one reference on every frame (freeing those that reach zero) and empties the batch. */
  release(pages: PageAllocator): void {
    for (let i = 0; i < this.length; i++) pages.unref(this.pfns[i]!);
    this.length = 0;
  }
}
