/**
 * @osv-ts/mmu — OSv's memory subsystem: physical page allocator, x86-64 page
 * tables in guest memory, one address space with mmap and friends, the
 * per-vCPU software TLB and access API, malloc, the debug allocator, and the
 * shrinker. See README.md for the layers and how the kernel wires it in.
 */
export { Mmu } from './mmu.js';
export type { MmuAttachOptions, MmuCpuOptions, MmuFormatOptions } from './mmu.js';
export { MemoryAccess } from './memoryAccess.js';
export type { FaultDescriber } from './memoryAccess.js';
export { PhysicalPages } from './physicalPages.js';
export type { PageUse } from './physicalPages.js';
export { InMemoryPageProvider } from './inMemoryPageProvider.js';
export type { InMemoryFile } from './inMemoryPageProvider.js';
export { Reclaimer, LOW_WATERMARK_FRACTION, REMOTE_RECLAIM_WAIT_MS } from './reclaimer.js';
export type { Shrinker, ReclaimerHooks } from './reclaimer.js';
export { formatMemInfo } from './memInfo.js';
export type { MemInfo } from './memInfo.js';
export type { PageProvider, PhysRange, ShrinkerFn, TlbIpi } from './interfaces.js';
export { MmuError, SegmentationFault, MMU_ERRNO, MMU_ERROR_CODES, FAULT, ACCESS } from './errors.js';
export type { MmuErrorCode, AccessName, FaultMapping } from './errors.js';
export {
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  PROT_EXEC,
  MAP_SHARED,
  MAP_PRIVATE,
  MAP_FIXED,
  MAP_ANONYMOUS,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_FIXED_NOREPLACE,
  MREMAP_MAYMOVE,
  MREMAP_FIXED,
  MS_ASYNC,
  MS_INVALIDATE,
  MS_SYNC,
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
} from './mmapFlags.js';
export { MMAP_MIN_ADDR, MMAP_BASE, MMAP_TOP, DEBUG_BASE, DEBUG_TOP, LINEAR_BASE } from './addressLayout.js';
export {
  PTE_FIELDS,
  PDE_2M_FIELDS,
  LINEAR_ADDRESS_FIELDS,
  PAGE_SIZE,
  HUGE_PAGE_SIZE,
  PTE_BYTES,
  PTES_PER_TABLE,
} from './pageTableEntry.js';
export { TLB_SIZE, LARGE_TLB_SIZE } from './tlb.js';
export { MIN_OBJECT, MAX_POOLED } from './malloc.js';
export { DEBUG_HEADER_LAYOUT, DEBUG_FENCE, DEBUG_MAGIC } from './debugAllocator.js';
export { struct, bits64 } from './layout.js';
export type { Field, Layout, BitField, BitLayout } from './layout.js';
