/**
 * The one address space (OSv's mmu::vma_list plus mmap/munmap/mprotect/
 * madvise/mremap/msync): VMA-list and page-table changes under AS_LOCK, each
 * followed by a TLB shootdown before the frames it detached are released, so
 * when a call returns no vCPU uses an old translation. Also the fault path
 * the TLB calls on a miss it cannot satisfy. Methods return a non-negative
 * result or a negative Linux errno; `Mmu` turns those into MmuError.
 */
import type { MemoryViews } from './internal/memoryViews.js';
import { FrameBatch } from './internal/frameBatch.js';
import { lockWord, unlockWord } from './internal/spinLock.js';
import { VMA_KIND, W } from './internal/sharedLayout.js';
import { leafHigh, protWritable } from './internal/leafBits.js';
import { ACCESS, FAULT, MMU_ERRNO } from './errors.js';
import type { PageAllocator } from './pageAllocator.js';
import type { PageTable } from './pageTable.js';
import type { Tlb, FaultResolver } from './tlb.js';
import { alignUp, type VmaList } from './vmaList.js';
import { FaultHandler, FAULT_NEED_MEMORY } from './faultHandler.js';
import type { PageProvider } from './interfaces.js';
import { MMAP_BASE, MMAP_MIN_ADDR, MMAP_TOP } from './addressLayout.js';
import {
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from './mmapFlags.js';
import { HUGE_PAGE_SIZE, PAGE_SIZE, PTE_P, PTE_RW, PTE_SW_KEPT, PTE_XD_HI } from './pageTableEntry.js';

/** What the address space asks when memory runs out (the reclaimer). */
export interface MemoryReclaim {
  /** Frees memory for an allocation of `pages` that failed; false when nothing more can be freed. */
  reclaimForAllocation(pages: number): boolean;
}

const ENOMEM = -MMU_ERRNO.ENOMEM;
const EINVAL = -MMU_ERRNO.EINVAL;
const EEXIST = -MMU_ERRNO.EEXIST;
const EFAULT = -MMU_ERRNO.EFAULT;
const KNOWN_MAP_FLAGS = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE | MAP_FIXED_NOREPLACE;
const ALL_PROT = PROT_READ | PROT_WRITE | PROT_EXEC;
/** Reclaim rounds one operation may ask for before it reports ENOMEM. */
const RECLAIM_ROUNDS = 16;

/** One vCPU's handle on the shared address space. */
export class AddressSpace implements FaultResolver {
  readonly m: MemoryViews;
  readonly pages: PageAllocator;
  readonly pt: PageTable;
  readonly vmas: VmaList;
  readonly tlb: Tlb;
  readonly faults: FaultHandler;
  readonly files: PageProvider | null;
  /** Frames detached by the current change, released after its shootdown. */
  readonly batch = new FrameBatch();
  /** Set by Mmu once the reclaimer exists. */
  reclaim: MemoryReclaim | null = null;

  constructor(views: MemoryViews, pages: PageAllocator, pt: PageTable, vmas: VmaList, tlb: Tlb, files: PageProvider | null) {
    this.m = views;
    this.pages = pages;
    this.pt = pt;
    this.vmas = vmas;
    this.tlb = tlb;
    this.files = files;
    this.faults = new FaultHandler(views, pages, pt, vmas, files, tlb, this.batch);
    tlb.setResolver(this);
  }

  /** Takes AS_LOCK. */
  lock(): void {
    lockWord(this.m.i32, this.m.hdr + W.AS_LOCK, this.tlb);
  }

  /** Releases AS_LOCK. */
  unlock(): void {
    unlockWord(this.m.i32, this.m.hdr + W.AS_LOCK);
  }

  /** Shoots down every vCPU's TLB, then releases the frames the change detached. AS_LOCK held. */
  commit(): void {
    this.tlb.shootdown();
    this.batch.release(this.pages);
  }

  /** FaultResolver: handles the fault under AS_LOCK, reclaiming outside it when memory runs out. */
  resolveFault(va: number, access: number): number {
    for (let round = 0; ; round++) {
      this.lock();
      let r: number;
      try {
        r = this.faults.handle(va, access);
      } finally {
        this.unlock();
      }
      if (r !== FAULT_NEED_MEMORY) return r;
      if (round >= RECLAIM_ROUNDS || this.reclaim === null || !this.reclaim.reclaimForAllocation(this.faults.neededPages)) return FAULT.NOMEM;
    }
  }

  /** Runs `op` under AS_LOCK, reclaiming and retrying while it reports ENOMEM from a failed allocation. */
  private withLock(op: () => number): number {
    for (let round = 0; ; round++) {
      this.lock();
      let r: number;
      try {
        r = op();
      } finally {
        this.unlock();
      }
      if (r !== FAULT_NEED_MEMORY) return r;
      if (round >= RECLAIM_ROUNDS || this.reclaim === null || !this.reclaim.reclaimForAllocation(1)) return ENOMEM;
    }
  }

  /** True if [start, start+len) is a page-aligned, non-empty range of the mmap area. */
  static validRange(start: number, len: number): boolean {
    return (
      Number.isSafeInteger(start) &&
      Number.isSafeInteger(len) &&
      len > 0 &&
      start % PAGE_SIZE === 0 &&
      start >= MMAP_MIN_ADDR &&
      start + len <= MMAP_TOP
    );
  }

  /**
   * mmap. `file` and `offset` matter only without MAP_ANONYMOUS. Returns the
   * mapping's address or a negative errno (EINVAL, ENOMEM, EEXIST).
   */
  mmap(addr: number, length: number, prot: number, flags: number, file: number, offset: number): number {
    if (!Number.isSafeInteger(length) || length <= 0 || (prot & ~ALL_PROT) !== 0 || (flags & ~KNOWN_MAP_FLAGS) !== 0) return EINVAL;
    const type = flags & (MAP_SHARED | MAP_PRIVATE);
    if (type !== MAP_SHARED && type !== MAP_PRIVATE) return EINVAL;
    const anon = (flags & MAP_ANONYMOUS) !== 0;
    if (!anon && (this.files === null || offset % PAGE_SIZE !== 0 || offset < 0 || this.files.fileSize(file) < 0)) return EINVAL;
    const len = alignUp(length, PAGE_SIZE);
    const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
    if (fixed && !AddressSpace.validRange(addr, len)) return EINVAL;
    const kind = anon ? VMA_KIND.ANON : VMA_KIND.FILE;
    const start = this.withLock(() => {
      let at = addr;
      if ((flags & MAP_FIXED_NOREPLACE) !== 0) {
        if (!this.vmas.isFree(at, at + len)) return EEXIST;
      } else if (fixed) {
        const r = this.unmapLocked(at, at + len);
        if (r < 0) return r;
      } else if (!(AddressSpace.validRange(addr, len) && this.vmas.isFree(addr, addr + len))) {
        at = this.vmas.findGap(len, len >= HUGE_PAGE_SIZE ? HUGE_PAGE_SIZE : PAGE_SIZE, MMAP_BASE, MMAP_TOP);
        if (at < 0) return ENOMEM;
      }
      const i = this.vmas.insert(at, at + len, prot, type | (anon ? MAP_ANONYMOUS : 0), anon ? 0 : file, anon ? 0 : offset, kind);
      if (i < 0) return ENOMEM;
      this.vmas.mergeAround(i);
      return at;
    });
    if (start < 0 || (flags & MAP_POPULATE) === 0 || prot === PROT_NONE) return start;
    const r = this.populate(start, start + len, protWritable(prot) && type === MAP_PRIVATE ? ACCESS.WRITE : ACCESS.READ);
    if (r < 0) {
      this.munmap(start, len);
      return r === FAULT.NOMEM ? ENOMEM : r === FAULT.BUS ? start : EFAULT;
    }
    return start;
  }

  /** Faults every page of [start, end) in for `access`; 0 or a negative FAULT code. */
  private populate(start: number, end: number, access: number): number {
    let va = start;
    while (va < end) {
      const r = this.resolveFault(va, access);
      if (r === FAULT.BUS) return 0; // past the end of the file: Linux populates what exists
      if (r < 0) return r;
      va += this.pt.lookup(va) === 2 ? HUGE_PAGE_SIZE - (va % HUGE_PAGE_SIZE) : PAGE_SIZE;
    }
    return 0;
  }

  /** munmap: 0 or EINVAL. Unmapped parts of the range are fine. */
  munmap(addr: number, length: number): number {
    const len = alignUp(length, PAGE_SIZE);
    if (!AddressSpace.validRange(addr, len)) return EINVAL;
    return this.withLock(() => this.unmapLocked(addr, addr + len));
  }

  /** Removes VMAs and pages of [start, end), shoots down, releases frames. AS_LOCK held. */
  unmapLocked(start: number, end: number): number {
    if (this.vmas.carve(start, end) < 0) return ENOMEM;
    this.vmas.removeAt(this.vmas.carvedFirst, this.vmas.carvedEnd);
    const r = this.clearRange(start, end);
    if (r < 0) return r;
    this.pt.prune(start, end, this.batch, this.vmas);
    this.commit();
    return 0;
  }

  /**
   * Drops every leaf of [start, end) onto the batch, splitting 2 MiB leaves
   * that straddle an edge. 0 or FAULT_NEED_MEMORY. AS_LOCK held.
   */
  clearRange(start: number, end: number): number {
    let va = start;
    for (;;) {
      const leaf = this.pt.nextLeaf(va, end);
      if (leaf < 0) return 0;
      const level = this.pt.entryLevel;
      const ea = this.pt.entryAddr;
      if (level === 2 && (leaf < start || leaf + HUGE_PAGE_SIZE > end)) {
        if (this.pt.splitHuge(ea) < 0) return FAULT_NEED_MEMORY;
        va = Math.max(leaf, start);
        continue;
      }
      this.faults.dropLeaf(ea, level);
      va = leaf + (level === 2 ? HUGE_PAGE_SIZE : PAGE_SIZE);
    }
  }

  /** True if VMAs cover all of [start, end) without a hole. AS_LOCK held. */
  covered(start: number, end: number): boolean {
    let at = start;
    for (let i = this.vmas.firstEndingAfter(start); i < this.vmas.count() && at < end; i++) {
      if (this.vmas.start(i) > at) return false;
      at = this.vmas.end(i);
    }
    return at >= end;
  }

  /** mprotect: 0, EINVAL, or ENOMEM when part of the range is not mapped. */
  mprotect(addr: number, length: number, prot: number): number {
    const len = alignUp(length, PAGE_SIZE);
    if (!AddressSpace.validRange(addr, len) || (prot & ~ALL_PROT) !== 0) return EINVAL;
    const end = addr + len;
    return this.withLock(() => {
      if (!this.covered(addr, end)) return ENOMEM;
      if (this.vmas.carve(addr, end) < 0) return ENOMEM;
      for (let i = this.vmas.carvedFirst; i < this.vmas.carvedEnd; i++) this.vmas.setProt(i, prot);
      const r = this.reprotect(addr, end);
      this.vmas.mergeRange(this.vmas.carvedFirst, this.vmas.carvedEnd - 1);
      this.commit();
      return r;
    });
  }

  /** Rewrites the leaves of [start, end) for their VMAs' protection. AS_LOCK held. */
  private reprotect(start: number, end: number): number {
    let va = start;
    for (;;) {
      const leaf = this.pt.nextLeaf(va, end);
      if (leaf < 0) return 0;
      const level = this.pt.entryLevel;
      const ea = this.pt.entryAddr;
      const i = this.vmas.find(Math.max(leaf, start));
      if (level === 2 && (leaf < start || leaf + HUGE_PAGE_SIZE > end || i < 0 || this.vmas.prot(i) === PROT_NONE)) {
        if (this.pt.splitHuge(ea) < 0) return FAULT_NEED_MEMORY;
        va = Math.max(leaf, start);
        continue;
      }
      if (i >= 0) this.protectLeaf(i, ea, level);
      va = leaf + (level === 2 ? HUGE_PAGE_SIZE : PAGE_SIZE);
    }
  }

  /** Sets one leaf's bits from VMA i's protection (PROT_NONE keeps the frame as SW_KEPT). */
  private protectLeaf(i: number, ea: number, level: number): void {
    const prot = this.vmas.prot(i);
    let low = this.pt.low(ea);
    if (prot === PROT_NONE) {
      this.pt.set(ea, (low & ~PTE_P) | PTE_SW_KEPT, this.pt.high(ea));
      return;
    }
    low = (low & ~(PTE_SW_KEPT | PTE_RW)) | PTE_P;
    if (protWritable(prot) && this.faults.frameWritable(i, low, level)) low |= PTE_RW;
    this.pt.set(ea, low, (this.pt.high(ea) & ~PTE_XD_HI) | leafHigh(prot));
  }

  /** madvise: 0, EINVAL, or ENOMEM when part of the range is not mapped. */
  madvise(addr: number, length: number, advice: number): number {
    const len = alignUp(length, PAGE_SIZE);
    if (!AddressSpace.validRange(addr, len) || advice < 0 || advice > MADV_DONTNEED) return EINVAL;
    const end = addr + len;
    return this.withLock(() => {
      if (!this.covered(addr, end)) return ENOMEM;
      if (advice !== MADV_DONTNEED) return 0; // NORMAL, RANDOM, SEQUENTIAL, WILLNEED: hints only
      const vmas = this.vmas;
      for (let i = vmas.firstEndingAfter(addr); i < vmas.count() && vmas.start(i) < end; i++) {
        // Shared anonymous memory is like a tmpfs file: DONTNEED keeps its contents (Linux does too).
        if (vmas.kind(i) === VMA_KIND.ANON && (vmas.flags(i) & MAP_SHARED) !== 0) continue;
        const r = this.clearRange(Math.max(addr, vmas.start(i)), Math.min(end, vmas.end(i)));
        if (r < 0) return r;
      }
      this.pt.prune(addr, end, this.batch, this.vmas);
      this.commit();
      return 0;
    });
  }

  /** The VMA index containing `va` and a description of it, for fault reports. AS_LOCK taken here. */
  describe(va: number): ReturnType<VmaList['describe']> | null {
    this.lock();
    try {
      const i = this.vmas.find(va);
      return i < 0 ? null : this.vmas.describe(i);
    } finally {
      this.unlock();
    }
  }
}
