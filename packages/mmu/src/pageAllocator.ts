/**
 * The physical page allocator: a buddy allocator over the boot memory map
 * (power-of-two free lists, doubly linked through the frame table so a buddy
 * is unlinked and coalesced in O(1)), fronted by per-CPU caches of single
 * pages that are refilled and drained PAGE_CACHE_BATCH pages at a time (OSv's
 * l1/l2 page pools, memory.cc). All state is in guest memory: the free-list
 * heads in the mmu header (guarded by PAGE_LOCK), one FRAME_LAYOUT record per
 * page, and each CPU's cache in its CPU block (guarded by its CACHE_LOCK,
 * which only its owner takes except when another CPU drains it under pressure).
 *
 * Allocation returns a pfn or NIL and never reclaims: the caller decides
 * whether to ask the shrinkers (see reclaimer.ts). Frames of allocated kinds
 * carry a reference count; `unref` frees at zero. Everything a guest could
 * have scribbled over (a pfn from a page-table entry) is validated before it
 * changes allocator state; inconsistencies are counted in CORRUPT and ignored.
 */
import type { MemoryViews } from './internal/memoryViews.js';
import { lockWord, unlockWord } from './internal/spinLock.js';
import {
  CW,
  FRAME_KIND,
  FRAME_KIND_FIRST_ALLOCATED,
  FRAME_KIND_MASK,
  FRAME_ORDER_SHIFT,
  FRAME_WORDS,
  FW,
  MAX_MMU_CPUS,
  MAX_ORDER,
  NIL,
  PAGE_CACHE_BATCH,
  PAGE_CACHE_MAX,
  W,
} from './internal/sharedLayout.js';
import { PAGE_SIZE } from './pageTableEntry.js';

const F_NEXT = FW.NEXT;
const F_PREV = FW.PREV;
const F_INFO = FW.INFO;
const F_REF = FW.REF;
const ORDER_MASK = 0x1f;

/** One vCPU's handle on the shared page allocator. */
export class PageAllocator {
  private readonly m: MemoryViews;
  private readonly i32: Int32Array;
  private readonly hdr: number;
  private readonly pages: number;

  constructor(views: MemoryViews) {
    this.m = views;
    this.i32 = views.i32;
    this.hdr = views.hdr;
    this.pages = views.bytes / PAGE_SIZE;
  }

  /** Word index of frame `pfn`'s record. */
  frame(pfn: number): number {
    return this.m.frames + pfn * FRAME_WORDS;
  }

  /** Kind of frame `pfn` (FRAME_KIND_*), or -1 if pfn is outside memory. */
  kindOf(pfn: number): number {
    if (pfn < 0 || pfn >= this.pages) return -1;
    return this.i32[this.frame(pfn) + F_INFO]! & FRAME_KIND_MASK;
  }

  /** Order recorded for an allocated or free head frame. */
  orderOf(pfn: number): number {
    return (this.i32[this.frame(pfn) + F_INFO]! >>> FRAME_ORDER_SHIFT) & ORDER_MASK;
  }

  /** Sets kind and order of frame `pfn`. */
  setInfo(pfn: number, kind: number, order: number): void {
    this.i32[this.frame(pfn) + F_INFO] = kind | (order << FRAME_ORDER_SHIFT);
  }

  /** Pages free (buddy lists plus every CPU's cache). */
  freePages(): number {
    return Atomics.load(this.i32, this.hdr + W.FREE_PAGES);
  }

  // ---- buddy lists (PAGE_LOCK held) ----

  private push(pfn: number, order: number): void {
    const i32 = this.i32;
    const headW = this.hdr + W.FREE_HEAD + order;
    const head = i32[headW]!;
    const f = this.frame(pfn);
    i32[f + F_NEXT] = head;
    i32[f + F_PREV] = NIL;
    if (head !== NIL) i32[this.frame(head) + F_PREV] = pfn;
    i32[headW] = pfn;
    i32[f + F_INFO] = FRAME_KIND.FREE_HEAD | (order << FRAME_ORDER_SHIFT);
    i32[this.hdr + W.FREE_BLOCKS + order]!++;
  }

  private unlink(pfn: number, order: number): void {
    const i32 = this.i32;
    const f = this.frame(pfn);
    const next = i32[f + F_NEXT]!;
    const prev = i32[f + F_PREV]!;
    if (prev === NIL) i32[this.hdr + W.FREE_HEAD + order] = next;
    else i32[this.frame(prev) + F_NEXT] = next;
    if (next !== NIL) i32[this.frame(next) + F_PREV] = prev;
    i32[f + F_INFO] = FRAME_KIND.FREE_BODY;
    i32[this.hdr + W.FREE_BLOCKS + order]!--;
  }

  /** Frees a block to the buddy lists, coalescing with free buddies. PAGE_LOCK held. */
  private buddyFree(pfn: number, order: number): void {
    const i32 = this.i32;
    while (order < MAX_ORDER) {
      const buddy = pfn ^ (1 << order);
      if (buddy >= this.pages) break;
      const info = i32[this.frame(buddy) + F_INFO]!;
      if (info !== (FRAME_KIND.FREE_HEAD | (order << FRAME_ORDER_SHIFT))) break;
      this.unlink(buddy, order);
      if (buddy < pfn) {
        i32[this.frame(pfn) + F_INFO] = FRAME_KIND.FREE_BODY;
        pfn = buddy;
      }
      order++;
    }
    this.push(pfn, order);
  }

  /** Takes a block of 2^order pages from the buddy lists, or NIL. PAGE_LOCK held. */
  private buddyAlloc(order: number): number {
    const i32 = this.i32;
    let k = order;
    while (k <= MAX_ORDER && i32[this.hdr + W.FREE_HEAD + k] === NIL) k++;
    if (k > MAX_ORDER) return NIL;
    const pfn = i32[this.hdr + W.FREE_HEAD + k]!;
    this.unlink(pfn, k);
    while (k > order) {
      k--;
      this.push(pfn + (1 << k), k);
    }
    return pfn;
  }

  private lockPages(): void {
    lockWord(this.i32, this.hdr + W.PAGE_LOCK, this.m.waiter);
  }

  private unlockPages(): void {
    unlockWord(this.i32, this.hdr + W.PAGE_LOCK);
  }

  /** Signals the reclaimer when free memory is below the low watermark. */
  private checkPressure(): void {
    const i32 = this.i32;
    if (Atomics.load(i32, this.hdr + W.FREE_PAGES) < i32[this.hdr + W.LOW_WATERMARK]!) {
      Atomics.add(i32, this.hdr + W.PRESSURE, 1);
      Atomics.notify(i32, this.hdr + W.PRESSURE);
    }
  }

  // ---- public allocation ----

  /**
   * Allocates 2^order physically contiguous pages of `kind` (FRAME_KIND_*):
   * returns the first pfn (its REF set to 1), or NIL when no block is free.
   * Does not zero and does not reclaim.
   */
  allocPages(order: number, kind: number): number {
    if (order === 0) return this.allocPage(kind);
    this.lockPages();
    const pfn = this.buddyAlloc(order);
    this.unlockPages();
    if (pfn === NIL) return NIL;
    Atomics.sub(this.i32, this.hdr + W.FREE_PAGES, 1 << order);
    this.claim(pfn, kind, order);
    this.checkPressure();
    return pfn;
  }

  private claim(pfn: number, kind: number, order: number): void {
    const f = this.frame(pfn);
    this.i32[f + F_INFO] = kind | (order << FRAME_ORDER_SHIFT);
    this.i32[f + F_REF] = 1;
  }

  /** Allocates one page of `kind` through this CPU's cache; pfn or NIL. */
  allocPage(kind: number): number {
    const i32 = this.i32;
    const cb = this.m.cpuBlock;
    lockWord(i32, cb + CW.CACHE_LOCK, this.m.waiter);
    let n = i32[cb + CW.CACHE_COUNT]!;
    if (n === 0) n = this.refill(cb);
    let pfn = NIL;
    if (n > 0) {
      pfn = i32[cb + CW.CACHE + n - 1]!;
      i32[cb + CW.CACHE_COUNT] = n - 1;
    }
    unlockWord(i32, cb + CW.CACHE_LOCK);
    if (pfn === NIL) return NIL;
    Atomics.sub(i32, this.hdr + W.FREE_PAGES, 1);
    this.claim(pfn, kind, 0);
    return pfn;
  }

  /** Refills the cache at block `cb` (its lock held) with up to a batch; returns its count. */
  private refill(cb: number): number {
    const i32 = this.i32;
    this.lockPages();
    let n = 0;
    while (n < PAGE_CACHE_BATCH) {
      const pfn = this.buddyAlloc(0);
      if (pfn === NIL) break;
      i32[this.frame(pfn) + F_INFO] = FRAME_KIND.CACHED;
      i32[cb + CW.CACHE + n] = pfn;
      n++;
    }
    this.unlockPages();
    i32[cb + CW.CACHE_COUNT] = n;
    this.checkPressure();
    return n;
  }

  /** Moves `count` pages from the cache at `cb` (its lock held) back to the buddy lists. */
  private drain(cb: number, count: number): void {
    const i32 = this.i32;
    let n = i32[cb + CW.CACHE_COUNT]!;
    this.lockPages();
    while (count > 0 && n > 0) {
      n--;
      count--;
      this.buddyFree(i32[cb + CW.CACHE + n]!, 0);
    }
    this.unlockPages();
    i32[cb + CW.CACHE_COUNT] = n;
  }

  /** Returns every CPU's cached pages to the buddy lists (so they can coalesce); the number moved. */
  drainAllCaches(): number {
    let moved = 0;
    for (let cpu = 0; cpu < MAX_MMU_CPUS; cpu++) {
      const cb = this.m.cpuBlockOf(cpu);
      if (this.i32[cb + CW.CACHE_COUNT] === 0) continue;
      lockWord(this.i32, cb + CW.CACHE_LOCK, this.m.waiter);
      moved += this.i32[cb + CW.CACHE_COUNT]!;
      this.drain(cb, PAGE_CACHE_MAX);
      unlockWord(this.i32, cb + CW.CACHE_LOCK);
    }
    return moved;
  }

  /**
   * Frees the block at `pfn` (its order is the one it was allocated with).
   * Frames that are not allocated (a double free, or a pfn from a corrupted
   * entry) are counted in CORRUPT and left alone.
   */
  free(pfn: number): void {
    if (!this.isAllocated(pfn)) {
      this.m.stat(W.CORRUPT, 1);
      return;
    }
    const order = this.orderOf(pfn);
    if (order === 0) {
      this.freeToCache(pfn);
      return;
    }
    this.lockPages();
    this.buddyFree(pfn, order);
    this.unlockPages();
    Atomics.add(this.i32, this.hdr + W.FREE_PAGES, 1 << order);
  }

  private freeToCache(pfn: number): void {
    const i32 = this.i32;
    const cb = this.m.cpuBlock;
    lockWord(i32, cb + CW.CACHE_LOCK, this.m.waiter);
    const n = i32[cb + CW.CACHE_COUNT]!;
    if (n >= PAGE_CACHE_MAX) this.drain(cb, PAGE_CACHE_BATCH);
    const m = i32[cb + CW.CACHE_COUNT]!;
    i32[this.frame(pfn) + F_INFO] = FRAME_KIND.CACHED;
    i32[this.frame(pfn) + F_REF] = 0;
    i32[cb + CW.CACHE + m] = pfn;
    i32[cb + CW.CACHE_COUNT] = m + 1;
    unlockWord(i32, cb + CW.CACHE_LOCK);
    Atomics.add(i32, this.hdr + W.FREE_PAGES, 1);
  }

  /** True if `pfn` is a frame of an allocated kind (validates guest-supplied pfns). */
  isAllocated(pfn: number): boolean {
    return this.kindOf(pfn) >= FRAME_KIND_FIRST_ALLOCATED;
  }

  /** Adds a reference to an allocated frame; false (and CORRUPT counted) if it is not one. */
  ref(pfn: number): boolean {
    if (!this.isAllocated(pfn)) {
      this.m.stat(W.CORRUPT, 1);
      return false;
    }
    Atomics.add(this.i32, this.frame(pfn) + F_REF, 1);
    return true;
  }

  /** Drops a reference; frees the block when the count reaches zero. Returns the new count (or -1). */
  unref(pfn: number): number {
    if (!this.isAllocated(pfn)) {
      this.m.stat(W.CORRUPT, 1);
      return -1;
    }
    const left = Atomics.sub(this.i32, this.frame(pfn) + F_REF, 1) - 1;
    if (left === 0) this.free(pfn);
    return left;
  }

  /** Reference count of an allocated frame (0 for other kinds). */
  refCount(pfn: number): number {
    return this.isAllocated(pfn) ? Atomics.load(this.i32, this.frame(pfn) + F_REF) : 0;
  }

  /**
   * Allocates exactly `n` contiguous pages of `kind` (the tail of the
   * power-of-two block goes back to the lists): head pfn with AUX0 = n, or NIL.
   */
  allocExact(n: number, kind: number): number {
    let order = 0;
    while (1 << order < n) order++;
    if (order > MAX_ORDER) return NIL;
    this.lockPages();
    const pfn = this.buddyAlloc(order);
    if (pfn !== NIL) this.freeRange(pfn + n, pfn + (1 << order));
    this.unlockPages();
    if (pfn === NIL) return NIL;
    Atomics.sub(this.i32, this.hdr + W.FREE_PAGES, n);
    for (let p = pfn + n - 1; p > pfn; p--) this.setInfo(p, kind, 0);
    this.claim(pfn, kind, 0);
    this.i32[this.frame(pfn) + FW.AUX0] = n;
    this.checkPressure();
    return pfn;
  }

  /** Frees `n` pages from allocExact. */
  freeExact(pfn: number, n: number): void {
    if (!this.isAllocated(pfn) || pfn + n > this.pages) {
      this.m.stat(W.CORRUPT, 1);
      return;
    }
    this.lockPages();
    this.freeRange(pfn, pfn + n);
    this.unlockPages();
    Atomics.add(this.i32, this.hdr + W.FREE_PAGES, n);
  }

  /** Frees pages [start, end) as maximal aligned blocks. PAGE_LOCK held. */
  private freeRange(start: number, end: number): void {
    let p = start;
    while (p < end) {
      let order = 0;
      while (order < MAX_ORDER && (p & ((2 << order) - 1)) === 0 && p + (2 << order) <= end) order++;
      this.buddyFree(p, order);
      p += 1 << order;
    }
  }

  /** Hands pages [start, end) to the allocator at format time (single-threaded). */
  addFreeRange(start: number, end: number): void {
    for (let p = start; p < end; p++) this.setInfo(p, FRAME_KIND.FREE_BODY, 0);
    this.freeRange(start, end);
    Atomics.add(this.i32, this.hdr + W.FREE_PAGES, end - start);
  }

  /**
   * Walks the free lists and checks them against FREE_PAGES and the frame
   * table (for tests and the debug build): returns a description of the first
   * inconsistency, or null. Takes PAGE_LOCK; caches must be quiescent.
   */
  check(): string | null {
    const i32 = this.i32;
    this.lockPages();
    try {
      let total = 0;
      for (let k = 0; k <= MAX_ORDER; k++) {
        let n = 0;
        let prev = NIL;
        for (let p = i32[this.hdr + W.FREE_HEAD + k]!; p !== NIL; p = i32[this.frame(p) + F_NEXT]!) {
          if (i32[this.frame(p) + F_INFO] !== (FRAME_KIND.FREE_HEAD | (k << FRAME_ORDER_SHIFT))) return `pfn ${p} on list ${k} is not a free head`;
          if (i32[this.frame(p) + F_PREV] !== prev) return `pfn ${p} has a bad back link`;
          if ((p & ((1 << k) - 1)) !== 0) return `pfn ${p} misaligned for order ${k}`;
          prev = p;
          n++;
          total += 1 << k;
          if (n > this.pages) return `list ${k} loops`;
        }
        if (n !== i32[this.hdr + W.FREE_BLOCKS + k]) return `list ${k} holds ${n} blocks, count says ${i32[this.hdr + W.FREE_BLOCKS + k]}`;
      }
      for (let cpu = 0; cpu < MAX_MMU_CPUS; cpu++) total += i32[this.m.cpuBlockOf(cpu) + CW.CACHE_COUNT]!;
      const free = Atomics.load(i32, this.hdr + W.FREE_PAGES);
      if (total !== free) return `free lists and caches hold ${total} pages, FREE_PAGES says ${free}`;
      return null;
    } finally {
      this.unlockPages();
    }
  }
}
