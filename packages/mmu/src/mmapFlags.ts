/**
 * Linux's mmap-family constants (include/uapi/asm-generic/mman-common.h,
 * mman.h and linux/mman.h), with the values libc hands through unchanged.
 */

/** Page may not be accessed. */
export const PROT_NONE = 0;
/** Page may be read. */
export const PROT_READ = 1;
/** Page may be written (implies read on x86). */
export const PROT_WRITE = 2;
/** Page may be executed (implies read on x86). */
export const PROT_EXEC = 4;

/** Share changes with other mappings of the file. */
export const MAP_SHARED = 0x01;
/** Changes are private (copy-on-write). */
export const MAP_PRIVATE = 0x02;
/** Place the mapping exactly at addr, replacing what was there. */
export const MAP_FIXED = 0x10;
/** Not backed by a file; zero-filled on demand. */
export const MAP_ANONYMOUS = 0x20;
/** Accepted and ignored (mmu does not reserve swap). */
export const MAP_NORESERVE = 0x4000;
/** Fault every page in before returning. */
export const MAP_POPULATE = 0x8000;
/** Like MAP_FIXED but fail with EEXIST instead of replacing. */
export const MAP_FIXED_NOREPLACE = 0x100000;

/** mremap: the mapping may move. */
export const MREMAP_MAYMOVE = 1;
/** mremap: move to new_address (needs MREMAP_MAYMOVE). */
export const MREMAP_FIXED = 2;

/** msync: schedule the write-back (done synchronously here). */
export const MS_ASYNC = 1;
/** msync: accepted and ignored (one address space, no other caches). */
export const MS_INVALIDATE = 2;
/** msync: write back before returning. */
export const MS_SYNC = 4;

/** madvise: no special treatment (a hint; accepted). */
export const MADV_NORMAL = 0;
/** madvise: expect random access (a hint; accepted). */
export const MADV_RANDOM = 1;
/** madvise: expect sequential access (a hint; accepted). */
export const MADV_SEQUENTIAL = 2;
/** madvise: expect access soon (a hint; accepted). */
export const MADV_WILLNEED = 3;
/** Drop the pages: anonymous memory reads back as zeros, file mappings re-read the file. */
export const MADV_DONTNEED = 4;
