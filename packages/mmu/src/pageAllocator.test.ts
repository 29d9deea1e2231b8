/**
 * The buddy allocator and the per-CPU page caches, straight over a formatted
 * memory: coalescing back to the original blocks, exact allocations, caches
 * refilled and drained in batches, double frees ignored and counted, and a
 * fuzz of random allocate/free sequences checked against the free lists.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatState } from './internal/format.js';
import { CW, FRAME_KIND, MAX_ORDER, PAGE_CACHE_BATCH, W } from './internal/sharedLayout.js';
import { PageAllocator } from './pageAllocator.js';
import { MemoryViews } from './internal/memoryViews.js';

function fresh(bytes = 8 << 20): { pages: PageAllocator; m: MemoryViews } {
  const m = formatState(new SharedArrayBuffer(bytes), [{ base: 0x20_0000, length: bytes - 0x20_0000 }], 0, 64, true);
  return { pages: new PageAllocator(m), m };
}

function blocks(m: MemoryViews): number[] {
  return Array.from({ length: MAX_ORDER + 1 }, (_, k) => m.i32[m.hdr + W.FREE_BLOCKS + k]!);
}

describe('page allocator', () => {
  it('hands the memory map to the buddy lists as maximal aligned blocks', () => {
    const { pages, m } = fresh();
    expect(pages.check()).toBeNull();
    // 8 MiB with 2 MiB reserved below and mmu tables carved at the start: large blocks exist.
    expect(blocks(m).slice(9).some((n) => n > 0)).toBe(true);
    expect(m.h(W.LOW_WATERMARK)).toBe(Math.floor(m.h(W.MANAGED_PAGES) * 0.1));
  });

  it('coalesces freed blocks back to what it had', () => {
    const { pages, m } = fresh();
    const before = blocks(m);
    const got = [3, 0, 9, 1, 5, 0, 2].map((o) => [pages.allocPages(o, FRAME_KIND.OTHER), o] as const);
    for (const [pfn, o] of got) {
      expect(pfn).toBeGreaterThan(0);
      expect(pfn % (1 << o)).toBe(0);
      expect(pages.kindOf(pfn)).toBe(FRAME_KIND.OTHER);
    }
    for (const [pfn] of got.reverse()) pages.free(pfn);
    pages.drainAllCaches();
    expect(blocks(m)).toEqual(before);
    expect(pages.check()).toBeNull();
  });

  it('refills and drains the per-CPU cache in batches', () => {
    const { pages, m } = fresh();
    const p = pages.allocPage(FRAME_KIND.ANON);
    expect(m.i32[m.cpuBlock + CW.CACHE_COUNT]).toBe(PAGE_CACHE_BATCH - 1);
    pages.free(p);
    expect(m.i32[m.cpuBlock + CW.CACHE_COUNT]).toBe(PAGE_CACHE_BATCH);
    expect(pages.kindOf(p)).toBe(FRAME_KIND.CACHED);
    expect(pages.check()).toBeNull();
  });

  it('allocates exact page counts and frees them back', () => {
    const { pages, m } = fresh();
    const free = pages.freePages();
    const pfn = pages.allocExact(5, FRAME_KIND.LARGE);
    expect(pages.freePages()).toBe(free - 5);
    pages.freeExact(pfn, 5);
    expect(pages.freePages()).toBe(free);
    expect(pages.check()).toBeNull();
    void m;
  });

  it('ignores and counts a double free or a reference to a free page', () => {
    const { pages, m } = fresh();
    const pfn = pages.allocPages(2, FRAME_KIND.OTHER);
    pages.free(pfn);
    pages.free(pfn);
    expect(pages.ref(pfn)).toBe(false);
    expect(pages.unref(1)).toBe(-1); // page 1 is reserved
    expect(m.h(W.CORRUPT)).toBe(3);
    expect(pages.check()).toBeNull();
  });

  it('reference counts free on the last unref', () => {
    const { pages } = fresh();
    const pfn = pages.allocPage(FRAME_KIND.FILE);
    expect(pages.ref(pfn)).toBe(true);
    expect(pages.unref(pfn)).toBe(1);
    expect(pages.unref(pfn)).toBe(0);
    expect(pages.isAllocated(pfn)).toBe(false);
  });

  it('stays consistent under random allocate/free sequences (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: -1, max: 10 }), fc.nat()), { maxLength: 400 }), (script) => {
        const { pages } = fresh(4 << 20);
        const total = pages.freePages();
        const live: [number, number][] = [];
        for (const [order, pick] of script) {
          if (order < 0 && live.length > 0) {
            const [pfn] = live.splice(pick % live.length, 1)[0]!;
            pages.free(pfn);
            continue;
          }
          const o = Math.max(0, order);
          const pfn = pages.allocPages(o, FRAME_KIND.OTHER);
          if (pfn < 0) continue;
          for (const [q, qo] of live) expect(pfn + (1 << o) <= q || q + (1 << qo) <= pfn).toBe(true);
          live.push([pfn, o]);
        }
        expect(pages.check()).toBeNull();
        for (const [pfn] of live) pages.free(pfn);
        pages.drainAllCaches();
        expect(pages.freePages()).toBe(total);
        expect(pages.check()).toBeNull();
      }),
      { numRuns: 100 },
    );
  });
});
