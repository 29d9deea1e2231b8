/**
 * One vCPU's handle on the memory subsystem, and the package's API boundary:
 * vCPU 0 formats the shared state in guest memory (`Mmu.format`), every other
 * vCPU attaches to it (`Mmu.attach`) with the state address vCPU 0 got. Calls
 * here throw MmuError (ENOMEM, EINVAL...) or SegmentationFault; the layers
 * below return numbers. `mem` is the hot access path.
 */
import { MemoryViews } from './internal/memoryViews.js';
import { attachState, formatState } from './internal/format.js';
import { FRAME_KIND, VMA_KIND, W } from './internal/sharedLayout.js';
import { MMU_ERRNO, MmuError, type MmuErrorCode } from './errors.js';
import { PageAllocator } from './pageAllocator.js';
import { PageTable } from './pageTable.js';
import { VmaList } from './vmaList.js';
import { Tlb } from './tlb.js';
import { AddressSpace } from './addressSpace.js';
import { MemoryAccess } from './memoryAccess.js';
import { mremap as mremapImpl } from './remap.js';
import { msync as msyncImpl, queryDirty as queryDirtyImpl } from './dirtyTracking.js';
import { Malloc } from './malloc.js';
import { DebugAllocator } from './debugAllocator.js';
import { Reclaimer, type Shrinker } from './reclaimer.js';
import { PhysicalPages } from './physicalPages.js';
import { readMemInfo, type MemInfo } from './memInfo.js';
import type { PageProvider, PhysRange, ShrinkerFn, TlbIpi } from './interfaces.js';
import { DEBUG_BASE, DEBUG_TOP, LINEAR_BASE } from './addressLayout.js';
import { PROT_READ, PROT_WRITE } from './mmapFlags.js';
import { HUGE_PAGE_SIZE, PAGE_SIZE, PTE_A, PTE_D, PTE_P, PTE_PS, PTE_RW, PTE_XD_HI } from './pageTableEntry.js';

/** Options every vCPU gives. */
export interface MmuCpuOptions {
  /** Guest physical memory (at most 4 GiB). */
  readonly memory: SharedArrayBuffer;
  /** This vCPU's index (0..63). */
  readonly cpu: number;
  /** Interrupts other vCPUs for TLB shootdown; omit on a single-vCPU machine. */
  readonly ipi?: TlbIpi;
  /** Pages of files for file-backed mappings; omit if there are none. */
  readonly files?: PageProvider;
  /** Route malloc/free through the debug allocator (guard pages, fences). */
  readonly debugMalloc?: boolean;
}

/** Options for formatting fresh guest memory (vCPU 0, once). */
export interface MmuFormatOptions extends MmuCpuOptions {
  /** Free RAM from the boot memory map. */
  readonly freeRanges: readonly PhysRange[];
  /** VMA records the address space can hold (default 8192). */
  readonly vmaCapacity?: number;
  /** Map 2 MiB leaves where possible (default true). */
  readonly hugePages?: boolean;
}

/** Options for attaching another vCPU. */
export interface MmuAttachOptions extends MmuCpuOptions {
  /** `stateAddress` of the formatting vCPU's Mmu. */
  readonly stateAddress: number;
}

const ERRNO_CODES = new Map<number, MmuErrorCode>(Object.entries(MMU_ERRNO).map(([k, v]) => [-v, k as MmuErrorCode]));

function check(r: number, what: string): number {
  if (r >= 0) return r;
  const code = ERRNO_CODES.get(r) ?? 'EINVAL';
  throw new MmuError(code, `${what}: ${code}`);
}

/** One vCPU's memory subsystem. */
export class Mmu {
  /** This vCPU. */
  readonly cpu: number;
  /** Physical address of the shared state; other vCPUs attach with it. */
  readonly stateAddress: number;
  /** Loads, stores and views by virtual address (the hot path). */
  readonly mem: MemoryAccess;
  /** Physical pages for providers and drivers. */
  readonly pages: PhysicalPages;
  /** The shrinker registry and reclaimer of this vCPU. */
  readonly reclaimer: Reclaimer;
  private readonly m: MemoryViews;
  private readonly alloc: PageAllocator;
  private readonly as: AddressSpace;
  private readonly heap: Malloc;
  private readonly debug: DebugAllocator;
  private readonly debugMalloc: boolean;

  private constructor(m: MemoryViews, o: MmuCpuOptions) {
    if (!Number.isInteger(o.cpu) || o.cpu < 0 || o.cpu >= 64) throw new MmuError('EINVAL', `mmu: cpu ${o.cpu} is not in 0..63`);
    this.m = m;
    this.cpu = o.cpu;
    this.stateAddress = m.stateAddr;
    this.alloc = new PageAllocator(m);
    const pt = new PageTable(m, this.alloc);
    pt.attach();
    const vmas = new VmaList(m);
    vmas.attach();
    const tlb = new Tlb(m, pt, o.ipi ?? null);
    m.waiter = tlb;
    this.as = new AddressSpace(m, this.alloc, pt, vmas, tlb, o.files ?? null);
    this.mem = new MemoryAccess(m, tlb, this.as);
    this.pages = new PhysicalPages(this.alloc);
    this.reclaimer = new Reclaimer(m, this.alloc);
    this.as.reclaim = this.reclaimer;
    this.heap = new Malloc(m, this.alloc);
    this.heap.reclaim = this.reclaimer;
    this.debug = new DebugAllocator(this.as);
    this.debugMalloc = o.debugMalloc === true;
    const w = o.cpu < 32 ? W.CPUS_LO : W.CPUS_HI;
    Atomics.or(m.i32, m.hdr + w, 1 << (o.cpu & 31));
  }

  /**
   * Formats fresh guest memory and returns vCPU `cpu`'s handle: the shared
   * state goes into the lowest free ranges, the rest to the page allocator;
   * all of physical memory is mapped at LINEAR_BASE. Throws MmuError EINVAL
   * (memory not a multiple of 4 KiB or above 4 GiB) or ENOMEM (map too small).
   */
  static format(o: MmuFormatOptions): Mmu {
    const m = formatState(o.memory, o.freeRanges, o.cpu, o.vmaCapacity ?? 8192, o.hugePages ?? true);
    const pages = new PageAllocator(m);
    const root = pages.allocPage(FRAME_KIND.PAGE_TABLE);
    if (root < 0) throw new MmuError('ENOMEM', 'mmu: no page for the root page table');
    m.zero(root * PAGE_SIZE, PAGE_SIZE);
    m.i32[m.hdr + W.PML4] = root * PAGE_SIZE;
    m.stat(W.PT_PAGES, 1);
    const mmu = new Mmu(m, o);
    mmu.mapLinear();
    mmu.as.lock();
    try {
      if (mmu.as.vmas.insert(DEBUG_BASE, DEBUG_TOP, PROT_READ | PROT_WRITE, 0, 0, 0, VMA_KIND.DEBUG) < 0) throw new MmuError('ENOMEM', 'mmu: VMA table full');
    } finally {
      mmu.as.unlock();
    }
    return mmu;
  }

  /** Attaches vCPU `cpu` to state formatted by another vCPU. Throws MmuError CORRUPT if there is none. */
  static attach(o: MmuAttachOptions): Mmu {
    return new Mmu(attachState(o.memory, o.stateAddress, o.cpu), o);
  }

  /** Maps all physical memory at LINEAR_BASE: 2 MiB leaves, 4 KiB ones in the first block (page 0 left out). */
  private mapLinear(): void {
    const pt = this.as.pt;
    const bits = PTE_P | PTE_RW | PTE_A | PTE_D;
    for (let pa = 0; pa < this.m.bytes; pa += HUGE_PAGE_SIZE) {
      if (pa > 0 && pa + HUGE_PAGE_SIZE <= this.m.bytes) {
        const ea = pt.ensureEntry(LINEAR_BASE + pa, 2);
        if (ea < 0) throw new MmuError('ENOMEM', 'mmu: no pages for the linear map');
        pt.set(ea, pa | bits | PTE_PS, PTE_XD_HI);
        continue;
      }
      for (let p = Math.max(pa, PAGE_SIZE); p < Math.min(pa + HUGE_PAGE_SIZE, this.m.bytes); p += PAGE_SIZE) {
        const ea = pt.ensureEntry(LINEAR_BASE + p, 1);
        if (ea < 0) throw new MmuError('ENOMEM', 'mmu: no pages for the linear map');
        pt.set(ea, p | bits, PTE_XD_HI);
      }
    }
  }

  /** Virtual address of physical address `phys` in the linear map. */
  linearAddress(phys: number): number {
    return LINEAR_BASE + phys;
  }

  /**
   * Maps memory, as mmap(2): `file`/`offset` name a page-provider file unless
   * MAP_ANONYMOUS. Returns the address. Throws MmuError EINVAL, ENOMEM, EEXIST.
   */
  mmap(addr: number, length: number, prot: number, flags: number, file = -1, offset = 0): number {
    return check(this.as.mmap(addr, length, prot, flags, file, offset), 'mmap');
  }

  /** Unmaps [addr, addr+length), as munmap(2). Throws MmuError EINVAL. */
  munmap(addr: number, length: number): void {
    check(this.as.munmap(addr, length), 'munmap');
  }

  /** Changes protection, as mprotect(2). Throws MmuError EINVAL, ENOMEM (range not mapped). */
  mprotect(addr: number, length: number, prot: number): void {
    check(this.as.mprotect(addr, length, prot), 'mprotect');
  }

  /** Advice, as madvise(2); MADV_DONTNEED drops pages. Throws MmuError EINVAL, ENOMEM. */
  madvise(addr: number, length: number, advice: number): void {
    check(this.as.madvise(addr, length, advice), 'madvise');
  }

  /** Resizes or moves a mapping by moving page-table entries, as mremap(2). Throws MmuError EINVAL, EFAULT, ENOMEM. */
  mremap(oldAddr: number, oldLength: number, newLength: number, flags: number, newAddr = 0): number {
    return check(mremapImpl(this.as, oldAddr, oldLength, newLength, flags, newAddr), 'mremap');
  }

  /** Writes back dirty shared file pages, as msync(2). Throws MmuError EINVAL, ENOMEM, EIO. */
  msync(addr: number, length: number, flags: number): void {
    check(msyncImpl(this.as, addr, length, flags), 'msync');
  }

  /**
   * Dirty-page query over out.length pages from `addr`: out[k] = 1 if page k
   * was written since the last clear; cleans them when `clear`. Returns the
   * dirty count. Throws MmuError EINVAL, ENOMEM.
   */
  queryDirty(addr: number, out: Uint8Array, clear = true): number {
    return check(queryDirtyImpl(this.as, addr, out, clear), 'queryDirty');
  }

  /** malloc: a linear-map (or debug-heap) address, or 0 when out of memory after the shrinkers. */
  malloc(size: number): number {
    return this.debugMalloc ? this.debug.malloc(size) : this.heap.malloc(size);
  }

  /** calloc: zeroed memory for n × size bytes; 0 on overflow or out of memory. */
  calloc(n: number, size: number): number {
    const bytes = n * size;
    if (!Number.isSafeInteger(bytes) || bytes < 0) return 0;
    const p = this.malloc(bytes);
    if (p !== 0 && !this.debugMalloc) this.mem.fill(p, 0, bytes);
    return p;
  }

  /** Aligned allocation (posix_memalign/aligned_alloc). Throws MmuError EINVAL for a bad alignment; 0 when out of memory. */
  memalign(align: number, size: number): number {
    if (this.debugMalloc) {
      if (align > PAGE_SIZE) throw new MmuError('ENOTSUP', 'memalign: the debug allocator aligns to at most 4096');
      return this.debug.malloc(size, align);
    }
    return check(this.heap.memalign(align, size), 'memalign');
  }

  /** realloc: moves the contents into a block of `size` bytes when needed; 0 when out of memory (the old block stays). */
  realloc(ptr: number, size: number): number {
    if (ptr === 0) return this.malloc(size);
    if (size === 0) {
      this.free(ptr);
      return 0;
    }
    const old = this.usableSize(ptr);
    if (!this.debugMalloc && size <= old && size > old / 4) return ptr;
    const p = this.malloc(size);
    if (p === 0) return 0;
    const bytes = Math.min(old, size);
    const chunk = new Uint8Array(Math.min(bytes, 65536));
    for (let done = 0; done < bytes; done += chunk.length) {
      const n = Math.min(chunk.length, bytes - done);
      this.mem.readBytes(ptr + done, chunk, 0, n);
      this.mem.writeBytes(p + done, chunk, 0, n);
    }
    this.free(ptr);
    return p;
  }

  /** Bytes usable at `ptr`. Throws MmuError EINVAL for a pointer malloc did not return. */
  usableSize(ptr: number): number {
    return check(DebugAllocator.owns(ptr) ? this.debug.usableSize(ptr) : this.heap.usableSize(ptr), 'malloc_usable_size');
  }

  /**
   * free. Throws MmuError EINVAL for a pointer malloc did not return or a
   * debug allocation whose fences were overwritten, and SegmentationFault for
   * a debug allocation freed twice — each naming the address.
   */
  free(ptr: number): void {
    if (ptr === 0) return;
    if (DebugAllocator.owns(ptr)) {
      const r = this.debug.free(ptr);
      if (r === 0) return;
      if (r === -MMU_ERRNO.EINVAL) throw new MmuError('EINVAL', `free(0x${ptr.toString(16)}): ${this.debug.badReason} at 0x${this.debug.badAddress.toString(16)}`);
      throw this.mem.fault(this.debug.badAddress, 2, r);
    }
    if (this.heap.free(ptr) < 0) throw new MmuError('EINVAL', `free(0x${ptr.toString(16)}): not a pointer malloc returned`);
  }

  /** Debug-allocator allocation regardless of `debugMalloc` (0 when out of memory). */
  debugAlloc(size: number, align?: number): number {
    return this.debug.malloc(size, align);
  }

  /** Registers a shrinker on this vCPU (see Reclaimer). */
  registerShrinker(name: string, fn: ShrinkerFn): Shrinker {
    return this.reclaimer.register(name, fn);
  }

  /** The IRQ_IPI_TLB handler: acknowledges a pending shootdown. Cheap when none is pending. */
  serviceTlbShootdown(): void {
    this.as.tlb.service();
  }

  /** Frees objects other vCPUs returned to this vCPU's malloc pools (also done when a pool runs dry). */
  drainRemoteFrees(): void {
    this.heap.drainRemote();
  }

  /** Memory statistics for the whole machine. */
  memInfo(): MemInfo {
    return readMemInfo(this.m);
  }

  /** This vCPU's TLB counters: misses (all refills) and walks (refills that walked the page tables). */
  tlbStats(): { readonly misses: number; readonly walks: number } {
    return { misses: this.as.tlb.misses, walks: this.as.tlb.walks };
  }

  /**
   * Checks the page allocator's shared structures (free lists against counts
   * and frame records): null if consistent, else what is wrong. For tests; the
   * caches of all vCPUs must be quiet.
   */
  checkConsistency(): string | null {
    return this.alloc.check();
  }

  /** Leaves the machine: no shootdown waits for this vCPU any more. */
  detach(): void {
    const w = this.cpu < 32 ? W.CPUS_LO : W.CPUS_HI;
    Atomics.and(this.m.i32, this.m.hdr + w, ~(1 << (this.cpu & 31)));
  }
}
