/**
 * The page-fault handler (OSv's vma::fault and its subclasses): given an
 * address the walker could not translate for an access, find the VMA, check
 * the protection, and make the page present — demand-zero for anonymous
 * memory (a 2 MiB leaf when the fault's aligned 2 MiB block lies wholly inside
 * the mapping and a free 2 MiB block exists), the provider's page for a file
 * mapping (mapped directly when shared, copy-on-write when private), and the
 * copy of a private file page on the first write. Runs with AS_LOCK held.
 * Returns 0, a negative FAULT code, or FAULT_NEED_MEMORY with `neededPages`
 * set, in which case the caller drops the lock, reclaims and retries.
 */
import type { MemoryViews } from './internal/memoryViews.js';
import type { FrameBatch } from './internal/frameBatch.js';
import { FRAME_KIND, MMU_FLAG_HUGE, NIL, VMA_KIND, W } from './internal/sharedLayout.js';
import { leafHigh, leafLow, protWritable } from './internal/leafBits.js';
import { ACCESS, FAULT, MMU_ERRNO } from './errors.js';
import type { PageAllocator } from './pageAllocator.js';
import type { PageTable } from './pageTable.js';
import type { VmaList } from './vmaList.js';
import type { PageProvider } from './interfaces.js';
import type { Tlb } from './tlb.js';
import { MAP_SHARED, PROT_EXEC, PROT_NONE, PROT_WRITE } from './mmapFlags.js';
import {
  HUGE_PAGE_SIZE,
  PAGES_PER_HUGE,
  PAGE_SIZE,
  PDE_2M_ADDR_LO,
  PTE_ADDR_LO,
  PTE_D,
  PTE_P,
  PTE_PS,
  PTE_RW,
  PTE_SW_KEPT,
} from './pageTableEntry.js';
import { alignUp } from './vmaList.js';

/** The fault needs memory the allocator could not give: reclaim, then retry. */
export const FAULT_NEED_MEMORY = -100;
const HUGE_ORDER = Math.log2(PAGES_PER_HUGE);

/** True if a mapping with `prot` allows `access` (x86: any access right implies read). */
export function protPermits(prot: number, access: number): boolean {
  if ((access & ACCESS.WRITE) !== 0 && (prot & PROT_WRITE) === 0) return false;
  if ((access & ACCESS.EXEC) !== 0 && (prot & PROT_EXEC) === 0) return false;
  return prot !== PROT_NONE;
}

/** One vCPU's fault handler. */
export class FaultHandler {
  /** Pages the last FAULT_NEED_MEMORY wanted. */
  neededPages = 0;
  /** Index of the VMA the last fault hit, or -1 (valid until the lock is dropped). */
  lastVma = -1;
  private readonly m: MemoryViews;
  private readonly pages: PageAllocator;
  private readonly pt: PageTable;
  private readonly vmas: VmaList;
  private readonly files: PageProvider | null;
  private readonly tlb: Tlb;
  private readonly batch: FrameBatch;

  constructor(views: MemoryViews, pages: PageAllocator, pt: PageTable, vmas: VmaList, files: PageProvider | null, tlb: Tlb, batch: FrameBatch) {
    this.m = views;
    this.pages = pages;
    this.pt = pt;
    this.vmas = vmas;
    this.files = files;
    this.tlb = tlb;
    this.batch = batch;
  }

  /** Handles a fault at `va` for `access` (ACCESS.*). AS_LOCK held. */
  handle(va: number, access: number): number {
    const vmas = this.vmas;
    const i = vmas.find(va);
    this.lastVma = i;
    if (i < 0) return FAULT.MAPERR;
    const prot = vmas.prot(i);
    if (!protPermits(prot, access)) return FAULT.ACCERR;
    const page = va - (va % PAGE_SIZE);
    const found = this.pt.lookup(page);
    if (found < 0) return found;
    if (vmas.kind(i) === VMA_KIND.DEBUG) return found > 0 ? 0 : FAULT.MAPERR;
    this.m.stat(W.FAULTS, 1);
    if (found > 0) return this.upgrade(i, this.pt.entryAddr, found, access);
    if (this.pt.entryLevel === 1 && (this.pt.low(this.pt.entryAddr) & PTE_SW_KEPT) !== 0) return this.restoreKept(i, this.pt.entryAddr);
    if (vmas.kind(i) === VMA_KIND.ANON) return this.anonFill(i, va, page, access);
    return this.fileFill(i, page, access);
  }

  /** A present leaf the access was refused on although the VMA allows it: COW, or bits behind the VMA. */
  private upgrade(i: number, ea: number, level: number, access: number): number {
    const pt = this.pt;
    const prot = this.vmas.prot(i);
    const low = pt.low(ea);
    const high = leafHigh(prot);
    if ((access & ACCESS.WRITE) === 0 || (low & PTE_RW) !== 0) {
      pt.set(ea, low | (protWritable(prot) && this.frameWritable(i, low, level) ? PTE_RW : 0), high);
      return 0;
    }
    if (this.frameWritable(i, low, level)) {
      pt.set(ea, low | PTE_RW | PTE_D, high);
      return 0;
    }
    // Copy-on-write of a private file page.
    const pfn = this.pages.allocPage(FRAME_KIND.ANON);
    if (pfn === NIL) return this.needMemory(1);
    const src = (low & PTE_ADDR_LO) >>> 0;
    const dst = pfn * PAGE_SIZE;
    this.m.u8.copyWithin(dst, src, src + PAGE_SIZE);
    pt.set(ea, leafLow(dst, true, true), high);
    this.tlb.shootdown(); // other vCPUs may hold the read-only translation of the file page
    this.pages.unref(src / PAGE_SIZE);
    this.m.stat(W.FILE_MAPPED, -1);
    this.m.stat(W.ANON_PAGES, 1);
    return 0;
  }

  /** True if the frame of a present leaf may be written through in VMA i (not a file page under MAP_PRIVATE). */
  frameWritable(i: number, low: number, level: number): boolean {
    if (this.vmas.kind(i) !== VMA_KIND.FILE || (this.vmas.flags(i) & MAP_SHARED) !== 0) return true;
    const phys = level === 2 ? (low & PDE_2M_ADDR_LO) >>> 0 : (low & PTE_ADDR_LO) >>> 0;
    return this.pages.kindOf(phys / PAGE_SIZE) === FRAME_KIND.ANON;
  }

  /** A SW_KEPT entry whose VMA allows access again (mprotect normally restores these eagerly). */
  private restoreKept(i: number, ea: number): number {
    const low = this.pt.low(ea);
    const prot = this.vmas.prot(i);
    const writable = protWritable(prot) && this.frameWritable(i, low, 1);
    this.pt.set(ea, (low & ~PTE_SW_KEPT) | PTE_P | (writable ? PTE_RW : 0), leafHigh(prot));
    return 0;
  }

  private needMemory(pages: number): number {
    this.neededPages = pages;
    return FAULT_NEED_MEMORY;
  }

  /** Demand-zero fill of anonymous memory, with a 2 MiB leaf where possible. */
  private anonFill(i: number, va: number, page: number, access: number): number {
    const prot = this.vmas.prot(i);
    const write = (access & ACCESS.WRITE) !== 0;
    const block = va - (va % HUGE_PAGE_SIZE);
    if (
      this.pt.entryLevel >= 2 &&
      (this.m.h(W.FLAGS) & MMU_FLAG_HUGE) !== 0 &&
      block >= this.vmas.start(i) &&
      block + HUGE_PAGE_SIZE <= this.vmas.end(i)
    ) {
      const r = this.hugeFill(block, prot, write);
      if (r !== 1) return r;
    }
    const ea = this.pt.ensureEntry(page, 1);
    if (ea === FAULT.NOMEM) return this.needMemory(1);
    if (ea < 0) return ea;
    const pfn = this.pages.allocPage(FRAME_KIND.ANON);
    if (pfn === NIL) return this.needMemory(1);
    const pa = pfn * PAGE_SIZE;
    this.m.zero(pa, PAGE_SIZE);
    this.pt.set(ea, leafLow(pa, protWritable(prot), write), leafHigh(prot));
    this.m.stat(W.ANON_PAGES, 1);
    return 0;
  }

  /** Maps a zeroed 2 MiB leaf at `block`; 0, a negative code, or 1 to fall back to 4 KiB pages. */
  private hugeFill(block: number, prot: number, write: boolean): number {
    const pfn = this.pages.allocPages(HUGE_ORDER, FRAME_KIND.ANON);
    if (pfn === NIL) return 1;
    const ea = this.pt.ensureEntry(block, 2);
    if (ea < 0 || (this.pt.low(ea) | this.pt.high(ea)) !== 0) {
      this.pages.free(pfn);
      return ea === FAULT.BAD_PTE ? ea : 1;
    }
    const pa = pfn * PAGE_SIZE;
    this.m.zero(pa, HUGE_PAGE_SIZE);
    this.pt.set(ea, leafLow(pa, protWritable(prot), write) | PTE_PS, leafHigh(prot));
    this.m.stat(W.ANON_PAGES, PAGES_PER_HUGE);
    this.m.stat(W.HUGE_LEAVES, 1);
    return 0;
  }

  /** Fills a file page: the provider's frame when shared or read, a private copy on a private write. */
  private fileFill(i: number, page: number, access: number): number {
    const files = this.files;
    if (files === null) return FAULT.BUS;
    const vmas = this.vmas;
    const prot = vmas.prot(i);
    const file = vmas.file(i);
    const offset = vmas.offset(i) + (page - vmas.start(i));
    const size = files.fileSize(file);
    if (size < 0 || offset >= alignUp(size, PAGE_SIZE)) return FAULT.BUS;
    const ea = this.pt.ensureEntry(page, 1);
    if (ea === FAULT.NOMEM) return this.needMemory(1);
    if (ea < 0) return ea;
    const phys = files.getPage(file, offset);
    if (phys === -MMU_ERRNO.ENOMEM) return this.needMemory(1);
    if (phys < 0 || phys % PAGE_SIZE !== 0 || phys + PAGE_SIZE > this.m.bytes) return FAULT.BUS;
    const write = (access & ACCESS.WRITE) !== 0;
    const shared = (vmas.flags(i) & MAP_SHARED) !== 0;
    if (!shared && write) {
      const pfn = this.pages.allocPage(FRAME_KIND.ANON);
      if (pfn === NIL) return this.needMemory(1);
      const pa = pfn * PAGE_SIZE;
      this.m.u8.copyWithin(pa, phys, phys + PAGE_SIZE);
      this.pt.set(ea, leafLow(pa, true, true), leafHigh(prot));
      this.m.stat(W.ANON_PAGES, 1);
      return 0;
    }
    if (!this.pages.ref(phys / PAGE_SIZE)) return FAULT.BUS;
    this.pt.set(ea, leafLow(phys, shared && protWritable(prot), write), leafHigh(prot));
    this.m.stat(W.FILE_MAPPED, 1);
    return 0;
  }

  /**
   * Detaches the leaf at `ea` (level 1 or 2): clears it, adjusts statistics
   * and queues its frame's reference on the batch (released after shootdown).
   */
  dropLeaf(ea: number, level: number): void {
    const low = this.pt.low(ea);
    const phys = level === 2 ? (low & PDE_2M_ADDR_LO) >>> 0 : (low & PTE_ADDR_LO) >>> 0;
    this.pt.clear(ea);
    const pfn = phys / PAGE_SIZE;
    const n = level === 2 ? PAGES_PER_HUGE : 1;
    const kind = this.pages.kindOf(pfn);
    if (kind === FRAME_KIND.ANON) this.m.stat(W.ANON_PAGES, -n);
    else if (kind === FRAME_KIND.FILE) this.m.stat(W.FILE_MAPPED, -n);
    else if (kind === FRAME_KIND.DEBUG) this.m.stat(W.DEBUG_PAGES, -n);
    if (level === 2) this.m.stat(W.HUGE_LEAVES, -1);
    this.batch.push(pfn);
  }
}
