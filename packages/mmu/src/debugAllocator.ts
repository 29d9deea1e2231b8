/**
 * The debug allocator (OSv's conf-debug_memory malloc): every allocation gets
 * fresh virtual pages in the debug region that are never reused, an unmapped
 * guard page right behind the object (the next allocation's leading guard), and
 * fence bytes in front of it and in the alignment padding after it. So a store
 * one byte past a page-ending object faults at once; a smaller overflow into
 * the padding, or an underflow into the front fence, is reported by free() with
 * the first corrupted address; and any access after free faults, because free
 * unmaps the pages.
 *
 * In the data pages, bottom up: fence bytes, a DEBUG_HEADER_LAYOUT header, the
 * object, fence bytes up to the end of the last page.
 */
import { struct } from './layout.js';
import { FRAME_KIND, NIL, W } from './internal/sharedLayout.js';
import { leafLow } from './internal/leafBits.js';
import { FAULT, MMU_ERRNO } from './errors.js';
import type { AddressSpace } from './addressSpace.js';
import { DEBUG_BASE, DEBUG_TOP } from './addressLayout.js';
import { FAULT_NEED_MEMORY } from './faultHandler.js';
import { PAGE_SIZE, PTE_ADDR_LO, PTE_XD_HI } from './pageTableEntry.js';
import { alignUp } from './vmaList.js';

/** Header in front of every debug allocation (little-endian words). */
export const DEBUG_HEADER_LAYOUT = struct([
  ['MAGIC', 4], // DEBUG_MAGIC while allocated
  ['BYTES', 4], // bytes requested
  ['PAGES', 4], // data pages (the guard page before them not counted)
  ['ALIGN', 4], // alignment of the object
] as const);
/** Header magic: 'DBGA'. */
export const DEBUG_MAGIC = 0x41474244;
/** The fence byte value. */
export const DEBUG_FENCE = 0xfd;
/** Default alignment of a debug allocation, bytes. */
export const DEBUG_ALIGN = 8;
const EINVAL = -MMU_ERRNO.EINVAL;
const RECLAIM_ROUNDS = 16;

/** One vCPU's debug allocator over the shared address space. */
export class DebugAllocator {
  private readonly as: AddressSpace;
  /** After free() fails: the address the problem was found at. */
  badAddress = 0;
  /** After free() fails: what was wrong. */
  badReason = '';

  constructor(as: AddressSpace) {
    this.as = as;
  }

  /** True if `va` lies in the debug region. */
  static owns(va: number): boolean {
    return va >= DEBUG_BASE && va < DEBUG_TOP;
  }

  /** Allocates `size` bytes aligned to `align`; 0 when out of memory (or region). */
  malloc(size: number, align = DEBUG_ALIGN): number {
    if (!Number.isSafeInteger(size) || size < 0 || align <= 0 || (align & (align - 1)) !== 0 || align > PAGE_SIZE) return 0;
    for (let round = 0; ; round++) {
      this.as.lock();
      let r: number;
      try {
        r = this.allocLocked(size, align);
      } finally {
        this.as.unlock();
      }
      if (r !== FAULT_NEED_MEMORY) return r;
      if (round >= RECLAIM_ROUNDS || this.as.reclaim === null || !this.as.reclaim.reclaimForAllocation(1)) return 0;
    }
  }

  private allocLocked(size: number, align: number): number {
    const as = this.as;
    const body = alignUp(Math.max(size, 1), align);
    const pages = Math.ceil((body + DEBUG_HEADER_LAYOUT.SIZE) / PAGE_SIZE);
    const first = as.m.h(W.DEBUG_NEXT) >>> 0;
    const start = DEBUG_BASE + (first + 1) * PAGE_SIZE; // page `first` stays unmapped: the guard
    const end = start + pages * PAGE_SIZE;
    if (end + PAGE_SIZE > DEBUG_TOP) return 0;
    for (let va = start; va < end; va += PAGE_SIZE) {
      const ea = as.pt.ensureEntry(va, 1);
      const pfn = ea < 0 ? NIL : as.pages.allocPage(FRAME_KIND.DEBUG);
      if (pfn === NIL) {
        this.unmapLocked(start, va);
        as.batch.release(as.pages); // never handed out: no vCPU can hold a translation
        return ea === FAULT.BAD_PTE ? 0 : FAULT_NEED_MEMORY;
      }
      const pa = pfn * PAGE_SIZE;
      as.m.u8.fill(DEBUG_FENCE, pa, pa + PAGE_SIZE);
      as.pt.set(ea, leafLow(pa, true, true), PTE_XD_HI);
      as.m.stat(W.DEBUG_PAGES, 1);
    }
    as.m.i32[as.m.hdr + W.DEBUG_NEXT] = first + pages + 1;
    const obj = end - body;
    const hdr = obj - DEBUG_HEADER_LAYOUT.SIZE;
    this.store32(hdr + DEBUG_HEADER_LAYOUT.MAGIC.offset, DEBUG_MAGIC);
    this.store32(hdr + DEBUG_HEADER_LAYOUT.BYTES.offset, size);
    this.store32(hdr + DEBUG_HEADER_LAYOUT.PAGES.offset, pages);
    this.store32(hdr + DEBUG_HEADER_LAYOUT.ALIGN.offset, align);
    for (let va = obj; va < obj + size; va++) as.m.u8[this.phys(va)] = 0;
    return obj;
  }

  /** Physical address of a mapped debug byte, or -1. AS_LOCK held. */
  private phys(va: number): number {
    if (this.as.pt.lookup(va - (va % PAGE_SIZE)) !== 1) return -1;
    return ((this.as.pt.low(this.as.pt.entryAddr) & PTE_ADDR_LO) >>> 0) + (va % PAGE_SIZE);
  }

  private store32(va: number, v: number): void {
    this.as.m.dv.setUint32(this.phys(va), v >>> 0, true);
  }

  private load32(va: number): number {
    const pa = this.phys(va);
    return pa < 0 ? -1 : this.as.m.dv.getUint32(pa, true);
  }

  /** Bytes requested for the allocation at `va`, or a negative errno. */
  usableSize(va: number): number {
    this.as.lock();
    try {
      const hdr = va - DEBUG_HEADER_LAYOUT.SIZE;
      if (this.load32(hdr + DEBUG_HEADER_LAYOUT.MAGIC.offset) !== DEBUG_MAGIC) return EINVAL;
      return this.load32(hdr + DEBUG_HEADER_LAYOUT.BYTES.offset);
    } finally {
      this.as.unlock();
    }
  }

  /**
   * Frees the allocation at `va`: checks the fences, unmaps its pages and
   * shoots down. 0, FAULT.MAPERR when `va` is not a live allocation (a double
   * free or a wild pointer; badAddress says where), or EINVAL when a fence was
   * overwritten (badAddress is the first corrupted byte).
   */
  free(va: number): number {
    this.as.lock();
    try {
      return this.freeLocked(va);
    } finally {
      this.as.unlock();
    }
  }

  private freeLocked(va: number): number {
    const hdr = va - DEBUG_HEADER_LAYOUT.SIZE;
    this.badAddress = va;
    if (!DebugAllocator.owns(va) || this.load32(hdr + DEBUG_HEADER_LAYOUT.MAGIC.offset) !== DEBUG_MAGIC) {
      this.badReason = 'not a live debug allocation (double free or wild pointer)';
      return FAULT.MAPERR;
    }
    const size = this.load32(hdr + DEBUG_HEADER_LAYOUT.BYTES.offset);
    const pages = this.load32(hdr + DEBUG_HEADER_LAYOUT.PAGES.offset);
    const align = this.load32(hdr + DEBUG_HEADER_LAYOUT.ALIGN.offset);
    // The header is guest-writable: believe it only if it describes the allocation it sits in.
    const body = align > 0 && align <= PAGE_SIZE && (align & (align - 1)) === 0 ? alignUp(Math.max(size, 1), align) : -1;
    if (body < 0 || pages !== Math.ceil((body + DEBUG_HEADER_LAYOUT.SIZE) / PAGE_SIZE) || (va + body) % PAGE_SIZE !== 0) {
      this.badAddress = hdr;
      this.badReason = 'allocation header overwritten (underflow)';
      return EINVAL;
    }
    const end = va + body;
    const start = end - pages * PAGE_SIZE;
    const bad = this.firstBadFence(start, hdr) ?? this.firstBadFence(va + size, end);
    if (bad !== null) {
      this.badAddress = bad;
      this.badReason = bad < va ? 'fence before the object overwritten (underflow)' : 'fence after the object overwritten (overflow)';
      return EINVAL;
    }
    this.store32(hdr + DEBUG_HEADER_LAYOUT.MAGIC.offset, 0);
    this.unmapLocked(start, start + pages * PAGE_SIZE);
    this.as.commit();
    return 0;
  }

  private firstBadFence(from: number, to: number): number | null {
    for (let va = from; va < to; va++) if (this.as.m.u8[this.phys(va)] !== DEBUG_FENCE) return va;
    return null;
  }

  private unmapLocked(start: number, end: number): void {
    const as = this.as;
    for (let va = start; va < end; va += PAGE_SIZE) {
      if (as.pt.lookup(va) === 1) as.faults.dropLeaf(as.pt.entryAddr, 1);
    }
    as.pt.prune(start, end, as.batch, null);
  }
}
