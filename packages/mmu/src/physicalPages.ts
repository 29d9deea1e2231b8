/**
 * The page allocator's public face, in physical addresses: for page providers
 * (file caches such as zfs-lite's ARC), drivers that need DMA-able pages, and
 * the kernel. Frames carry a reference count shared with mappings: a provider
 * allocates a "file" page, keeps its reference while the page is cached, and
 * mmu adds one per mapping, so `unref` frees the page only when nobody uses it.
 */
import { FRAME_KIND } from './internal/sharedLayout.js';
import { MMU_ERRNO } from './errors.js';
import type { PageAllocator } from './pageAllocator.js';
import { PAGE_SIZE } from './pageTableEntry.js';

/** What a page is for, which decides how mmu treats it (accounting, copy-on-write). */
export type PageUse = 'file' | 'other';

/** Physical page allocation for providers and drivers. */
export class PhysicalPages {
  private readonly pages: PageAllocator;

  constructor(pages: PageAllocator) {
    this.pages = pages;
  }

  /**
   * Allocates one page (not zeroed): its physical address, or -ENOMEM. Does not
   * ask the shrinkers (a cache allocating is the thing they shrink).
   */
  alloc(use: PageUse): number {
    const pfn = this.pages.allocPage(use === 'file' ? FRAME_KIND.FILE : FRAME_KIND.OTHER);
    return pfn < 0 ? -MMU_ERRNO.ENOMEM : pfn * PAGE_SIZE;
  }

  /** Allocates 2^order contiguous pages aligned to their size: physical address or -ENOMEM. */
  allocContiguous(order: number, use: PageUse): number {
    const pfn = this.pages.allocPages(order, use === 'file' ? FRAME_KIND.FILE : FRAME_KIND.OTHER);
    return pfn < 0 ? -MMU_ERRNO.ENOMEM : pfn * PAGE_SIZE;
  }

  /** Adds a reference to the page at `phys`; false if it is not an allocated page. */
  ref(phys: number): boolean {
    return this.pages.ref(Math.floor(phys / PAGE_SIZE));
  }

  /** Drops a reference, freeing the page (or block) at zero; the remaining count, or -1 for a bad page. */
  unref(phys: number): number {
    return this.pages.unref(Math.floor(phys / PAGE_SIZE));
  }

  /** References held on the page at `phys` (mappings plus its owner); 0 if it is free or not managed. */
  refCount(phys: number): number {
    return this.pages.refCount(Math.floor(phys / PAGE_SIZE));
  }

  /** Pages free right now. */
  freePages(): number {
    return this.pages.freePages();
  }
}
