/**
 * malloc after OSv's memory.cc: per-CPU pools of power-of-two size classes
 * (8 .. 1024 bytes), each a list of slab pages with free objects, and whole
 * pages above 1 KiB. Pointers are linear-map addresses (LINEAR_BASE + phys),
 * as OSv's malloc returns addresses in its phys_mem map, so a pointer finds
 * its page's frame record — and from it the size class and the owner CPU —
 * in O(1). A slab page is touched only by its owner CPU; a free from another
 * CPU goes onto the owner's lock-free remote-free stack (a CAS push; the owner
 * takes the whole stack with one exchange, so there is no ABA), which the owner
 * drains when its pool runs dry.
 *
 * Per slab page, in its frame record: AUX0 byte offset of the first free
 * object (NIL if none; each free object's first word holds the next offset),
 * AUX1 objects in use, AUX2 owner CPU, AUX3 size class; NEXT/PREV link the
 * owner's partial list for that class. Large allocations: kind LARGE, AUX0
 * pages. Returns 0 (NULL) when memory runs out even after the shrinkers.
 */
import type { MemoryViews } from './internal/memoryViews.js';
import { CW, FRAME_KIND, FW, NIL, POOL_CLASSES, W } from './internal/sharedLayout.js';
import type { PageAllocator } from './pageAllocator.js';
import type { MemoryReclaim } from './addressSpace.js';
import { LINEAR_BASE } from './addressLayout.js';
import { LINEAR_ADDRESS_FIELDS, PAGE_SIZE } from './pageTableEntry.js';

const PAGE_SHIFT = LINEAR_ADDRESS_FIELDS.PT.shift;
import { MMU_ERRNO } from './errors.js';

/** Smallest size class, bytes. */
export const MIN_OBJECT = 8;
/** Largest pooled size, bytes; larger allocations take whole pages. */
export const MAX_POOLED = MIN_OBJECT << (POOL_CLASSES - 1);
/** Empty slab pages a pool keeps per class before giving pages back. */
const KEEP_EMPTY = 1;
/** Reclaim rounds one allocation may ask for before it returns NULL. */
const RECLAIM_ROUNDS = 16;
const EINVAL = -MMU_ERRNO.EINVAL;

/** Size class index for `size` bytes (size <= MAX_POOLED). */
export function sizeClass(size: number): number {
  if (size <= MIN_OBJECT) return 0;
  return 32 - Math.clz32(size - 1) - 3;
}

/** One vCPU's malloc over the shared pools. */
export class Malloc {
  private readonly m: MemoryViews;
  private readonly i32: Int32Array;
  private readonly pages: PageAllocator;
  private readonly cpu: number;
  private readonly cb: number;
  /** Set by Mmu once the reclaimer exists. */
  reclaim: MemoryReclaim | null = null;

  constructor(views: MemoryViews, pages: PageAllocator) {
    this.m = views;
    this.i32 = views.i32;
    this.pages = pages;
    this.cpu = views.cpu;
    this.cb = views.cpuBlock;
  }

  /** Allocates `size` bytes: a linear-map address aligned to min(size class, 4096), or 0 when out of memory. */
  malloc(size: number): number {
    if (!(size >= 0) || !Number.isSafeInteger(size)) return 0;
    for (let round = 0; ; round++) {
      const va = size <= MAX_POOLED ? this.poolAlloc(sizeClass(size)) : this.largeAlloc(Math.ceil(size / PAGE_SIZE), 0);
      if (va !== 0) return va;
      if (round >= RECLAIM_ROUNDS || this.reclaim === null || !this.reclaim.reclaimForAllocation(size <= MAX_POOLED ? 1 : Math.ceil(size / PAGE_SIZE))) return 0;
    }
  }

  /**
   * Allocates `size` bytes aligned to `align` (a power of two): 0 on out of
   * memory, EINVAL (negative) for a bad alignment.
   */
  memalign(align: number, size: number): number {
    if (align <= 0 || (align & (align - 1)) !== 0 || !Number.isSafeInteger(align)) return EINVAL;
    if (align <= MAX_POOLED && size <= MAX_POOLED) return this.malloc(Math.max(size, align));
    if (align <= PAGE_SIZE) return this.malloc(Math.max(size, MAX_POOLED + 1));
    const pages = Math.ceil(size / PAGE_SIZE);
    let order = 0;
    while (1 << order < Math.max(pages, align / PAGE_SIZE)) order++;
    for (let round = 0; ; round++) {
      const va = this.largeAlloc(1 << order, order);
      if (va !== 0) return va;
      if (round >= RECLAIM_ROUNDS || this.reclaim === null || !this.reclaim.reclaimForAllocation(1 << order)) return 0;
    }
  }

  /** Bytes usable at `va` (the size class or whole pages), or a negative errno for a bad pointer. */
  usableSize(va: number): number {
    const pfn = this.pfnOf(va);
    if (pfn < 0) return EINVAL;
    const kind = this.pages.kindOf(pfn);
    const f = this.pages.frame(pfn);
    if (kind === FRAME_KIND.SLAB) return MIN_OBJECT << this.i32[f + FW.AUX3]!;
    if (kind === FRAME_KIND.LARGE && ((va - LINEAR_BASE) & (PAGE_SIZE - 1)) === 0) return this.i32[f + FW.AUX0]! * PAGE_SIZE;
    return EINVAL;
  }

  /** Frees a pointer from malloc/memalign (0 is ignored): 0, or EINVAL for a pointer malloc never returned. */
  free(va: number): number {
    if (va === 0) return 0;
    const pfn = this.pfnOf(va);
    if (pfn < 0) return EINVAL;
    const kind = this.pages.kindOf(pfn);
    const f = this.pages.frame(pfn);
    if (kind === FRAME_KIND.LARGE) {
      if (((va - LINEAR_BASE) & (PAGE_SIZE - 1)) !== 0) return EINVAL;
      const n = this.i32[f + FW.AUX0]!;
      this.pages.freeExact(pfn, n);
      this.m.stat(W.LARGE_PAGES, -n);
      return 0;
    }
    if (kind !== FRAME_KIND.SLAB) return EINVAL;
    const pa = va - LINEAR_BASE;
    const size = MIN_OBJECT << this.i32[f + FW.AUX3]!;
    if ((pa & (PAGE_SIZE - 1) & (size - 1)) !== 0) return EINVAL; // pa < 2^32: bit operations are exact
    const owner = this.i32[f + FW.AUX2]!;
    if (owner === this.cpu) this.localFree(pa, pfn);
    else this.remoteFree(owner, pa);
    return 0;
  }

  private pfnOf(va: number): number {
    const pa = va - LINEAR_BASE;
    if (!(pa >= 0 && pa < this.m.bytes) || Math.floor(pa) !== pa) return -1;
    return pa >>> PAGE_SHIFT;
  }

  /** Takes an object of class k from this CPU's pool; 0 if no page can be had. */
  private poolAlloc(k: number): number {
    const i32 = this.i32;
    const head = this.cb + CW.POOL_PARTIAL + k;
    let pfn = i32[head]!;
    if (pfn === NIL) {
      this.drainRemote();
      pfn = i32[head]!;
      if (pfn === NIL) pfn = this.newSlab(k);
      if (pfn === NIL) return 0;
    }
    const f = this.pages.frame(pfn);
    const off = i32[f + FW.AUX0]!;
    const pa = pfn * PAGE_SIZE + off;
    let next = i32[pa >>> 2]!;
    // The link lives in guest-writable memory (a use-after-free can overwrite it): keep it in the page.
    if (next !== NIL && ((next >>> 0) >= PAGE_SIZE || (next & ((MIN_OBJECT << k) - 1)) !== 0)) {
      this.m.stat(W.CORRUPT, 1);
      next = NIL;
    }
    i32[f + FW.AUX0] = next;
    i32[f + FW.AUX1]!++;
    if (next === NIL) this.unlinkPartial(k, pfn);
    return LINEAR_BASE + pa;
  }

  private newSlab(k: number): number {
    const pfn = this.pages.allocPage(FRAME_KIND.SLAB);
    if (pfn === NIL) return NIL;
    const i32 = this.i32;
    const size = MIN_OBJECT << k;
    const base = pfn * PAGE_SIZE;
    for (let off = 0; off < PAGE_SIZE; off += size) i32[(base + off) >>> 2] = off + size < PAGE_SIZE ? off + size : NIL;
    const f = this.pages.frame(pfn);
    i32[f + FW.AUX0] = 0;
    i32[f + FW.AUX1] = 0;
    i32[f + FW.AUX2] = this.cpu;
    i32[f + FW.AUX3] = k;
    this.linkPartial(k, pfn);
    i32[this.cb + CW.POOL_PAGES + k]!++;
    this.m.stat(W.SLAB_PAGES, 1);
    return pfn;
  }

  private linkPartial(k: number, pfn: number): void {
    const i32 = this.i32;
    const head = this.cb + CW.POOL_PARTIAL + k;
    const f = this.pages.frame(pfn);
    const old = i32[head]!;
    i32[f + FW.NEXT] = old;
    i32[f + FW.PREV] = NIL;
    if (old !== NIL) i32[this.pages.frame(old) + FW.PREV] = pfn;
    i32[head] = pfn;
  }

  private unlinkPartial(k: number, pfn: number): void {
    const i32 = this.i32;
    const f = this.pages.frame(pfn);
    const next = i32[f + FW.NEXT]!;
    const prev = i32[f + FW.PREV]!;
    if (prev === NIL) i32[this.cb + CW.POOL_PARTIAL + k] = next;
    else i32[this.pages.frame(prev) + FW.NEXT] = next;
    if (next !== NIL) i32[this.pages.frame(next) + FW.PREV] = prev;
  }

  /** Returns an object to its page (owner CPU only). */
  private localFree(pa: number, pfn: number): void {
    const i32 = this.i32;
    const f = this.pages.frame(pfn);
    const k = i32[f + FW.AUX3]!;
    const first = i32[f + FW.AUX0]!;
    i32[pa >>> 2] = first;
    i32[f + FW.AUX0] = pa & (PAGE_SIZE - 1);
    const used = --i32[f + FW.AUX1]!;
    if (first === NIL) this.linkPartial(k, pfn);
    if (used === 0 && i32[this.cb + CW.POOL_PAGES + k]! > KEEP_EMPTY) {
      this.unlinkPartial(k, pfn);
      i32[this.cb + CW.POOL_PAGES + k]!--;
      this.m.stat(W.SLAB_PAGES, -1);
      this.pages.free(pfn);
    }
  }

  /** Pushes an object onto `owner`'s remote-free stack (lock-free). */
  private remoteFree(owner: number, pa: number): void {
    const i32 = this.i32;
    const top = this.m.cpuBlockOf(owner) + CW.REMOTE_FREE;
    for (;;) {
      const head = Atomics.load(i32, top);
      i32[pa >>> 2] = head;
      if (Atomics.compareExchange(i32, top, head, pa | 0) === head) return;
    }
  }

  /**
   * Frees every object other CPUs handed back to this CPU. The chain lives in
   * guest-writable memory, so each entry is checked (a slab object of this
   * CPU) and the walk is bounded by the objects this CPU's pages can hold: a
   * corrupted or cyclic chain is cut and counted in CORRUPT, never followed
   * forever.
   */
  drainRemote(): void {
    const i32 = this.i32;
    let pa = Atomics.exchange(i32, this.cb + CW.REMOTE_FREE, 0) >>> 0;
    let budget = 0;
    for (let k = 0; k < POOL_CLASSES; k++) budget += i32[this.cb + CW.POOL_PAGES + k]! * (PAGE_SIZE / (MIN_OBJECT << k));
    while (pa !== 0) {
      const pfn = pa >>> PAGE_SHIFT;
      if (budget-- <= 0 || !this.ownsObject(pa, pfn)) {
        this.m.stat(W.CORRUPT, 1);
        return;
      }
      const next = Atomics.load(i32, pa >>> 2) >>> 0;
      this.localFree(pa, pfn);
      pa = next;
    }
  }

  /** True if `pa` is the start of an object in one of this CPU's slab pages. */
  private ownsObject(pa: number, pfn: number): boolean {
    if (pa >= this.m.bytes || this.pages.kindOf(pfn) !== FRAME_KIND.SLAB) return false;
    const f = this.pages.frame(pfn);
    return this.i32[f + FW.AUX2] === this.cpu && (pa & (PAGE_SIZE - 1) & ((MIN_OBJECT << this.i32[f + FW.AUX3]!) - 1)) === 0;
  }

  /** Allocates whole pages (an aligned 2^order block when order > 0); 0 if none. */
  private largeAlloc(pages: number, order: number): number {
    let pfn: number;
    if (order === 0) pfn = this.pages.allocExact(pages, FRAME_KIND.LARGE);
    else {
      pfn = this.pages.allocPages(order, FRAME_KIND.LARGE);
      if (pfn !== NIL) {
        this.pages.setInfo(pfn, FRAME_KIND.LARGE, 0);
        for (let p = pfn + 1; p < pfn + pages; p++) this.pages.setInfo(p, FRAME_KIND.LARGE, 0);
        this.i32[this.pages.frame(pfn) + FW.AUX0] = pages;
      }
    }
    if (pfn === NIL) return 0;
    this.m.stat(W.LARGE_PAGES, pages);
    return LINEAR_BASE + pfn * PAGE_SIZE;
  }
}
