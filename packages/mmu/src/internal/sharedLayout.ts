/**
 * The layouts of mmu's state in guest physical memory, shared by every vCPU
 * (each vCPU runs its own copy of mmu over the same SharedArrayBuffer, so all
 * cross-CPU state lives here, never in JS objects). Declared once; hot paths
 * take word indices from the `W_*` constants derived below.
 *
 * Placement (chosen at format time, recorded in the header):
 *   state page(s): MMU_HEADER_LAYOUT, then MAX_MMU_CPUS × CPU_BLOCK_LAYOUT
 *   frame table:   one FRAME_LAYOUT record per physical page of the buffer
 *   VMA table:     VMA_CAPACITY × VMA_LAYOUT records, sorted by START
 */
import { struct } from '../layout.js';

/** Magic of the mmu header: 'OSVM' little-endian. */
export const MMU_MAGIC = 0x4d56534f;
/** Version of these layouts. */
export const MMU_VERSION = 1;
/** Most vCPUs mmu keeps per-CPU state for (the hv's MAX_CPUS). */
export const MAX_MMU_CPUS = 64;
/** Largest buddy order: blocks of 2^MAX_ORDER pages (4 GiB, all of memory). */
export const MAX_ORDER = 20;
/** Pages a per-CPU page cache holds at most. */
export const PAGE_CACHE_MAX = 64;
/** Pages moved between a per-CPU cache and the buddy lists at once. */
export const PAGE_CACHE_BATCH = 32;
/** Size classes of the per-CPU malloc pools: 8, 16, ... 1024 bytes. */
export const POOL_CLASSES = 8;
/** "No page" in pfn links and list heads. */
export const NIL = -1;

/** The header. All fields 32-bit words; locks are futex words (see spinLock.ts). */
export const MMU_HEADER_LAYOUT = struct([
  ['MAGIC', 4],
  ['VERSION', 4],
  ['MEM_PAGES', 4], // pages in the whole buffer (frame-table entries)
  ['MANAGED_PAGES', 4], // pages handed to the allocator at format time (RAM for meminfo)
  ['FRAME_TABLE', 4], // physical address of the frame table, bytes
  ['PML4', 4], // physical address of the root paging structure (CR3)
  ['VMA_TABLE', 4], // physical address of the VMA table
  ['VMA_CAPACITY', 4], // records in it
  ['VMA_COUNT', 4], // records in use; guarded by AS_LOCK
  ['PAGE_LOCK', 4], // guards the buddy lists and FREE_HEAD/FREE_BLOCKS
  ['AS_LOCK', 4], // guards the VMA table and every page-table change
  ['FREE_PAGES', 4], // pages in the buddy lists plus the per-CPU caches; atomic
  ['TLB_GEN', 4], // shootdown generation; atomic
  ['CPUS_LO', 4], // attached vCPUs 0..31, bitmask; atomic
  ['CPUS_HI', 4], // attached vCPUs 32..63
  ['LOW_WATERMARK', 4], // pages; below it the reclaimer runs
  ['PRESSURE', 4], // bumped (and notified) when FREE_PAGES falls below LOW_WATERMARK
  ['SHRINKERS', 4], // shrinkers registered on any vCPU; atomic
  ['RECLAIM_WANT', 4], // pages a blocked allocation waits for (0 = none); atomic
  ['PT_PAGES', 4], // statistics, pages; atomic
  ['ANON_PAGES', 4],
  ['FILE_MAPPED', 4],
  ['SLAB_PAGES', 4],
  ['LARGE_PAGES', 4],
  ['DEBUG_PAGES', 4],
  ['HUGE_LEAVES', 4], // 2 MiB leaves currently mapped
  ['FAULTS', 4], // page faults handled
  ['CORRUPT', 4], // inconsistencies found in guest-writable state and ignored
  ['DEBUG_NEXT', 4], // next unused page index of the debug heap region; AS_LOCK
  ['FLAGS', 4], // MMU_FLAG_*
  ['RESERVED', 40],
  ['FREE_HEAD', (MAX_ORDER + 1) * 4], // pfn of the first free block of each order, NIL if none
  ['FREE_BLOCKS', (MAX_ORDER + 1) * 4], // blocks on each list
  ['PAD', 16],
] as const);

/** FLAGS bit: map 2 MiB leaves where a fault's aligned block lies inside the mapping. */
export const MMU_FLAG_HUGE = 1;

/** One vCPU's block. Guarded as noted. */
export const CPU_BLOCK_LAYOUT = struct([
  ['CACHE_LOCK', 4], // guards CACHE_COUNT/CACHE; taken by the owner, or by another CPU draining under pressure
  ['CACHE_COUNT', 4],
  ['TLB_ACK', 4], // last TLB_GEN this CPU flushed for; written by the owner, notified
  ['REMOTE_FREE', 4], // top of the lock-free stack of objects other CPUs freed (phys address, 0 = empty)
  ['POOL_PARTIAL', POOL_CLASSES * 4], // per size class: pfn of the first slab page with free objects; owner only
  ['POOL_PAGES', POOL_CLASSES * 4], // per size class: slab pages owned; owner only
  ['CACHE', PAGE_CACHE_MAX * 4], // cached free pfns
  ['PAD', 48],
] as const);

/** Per physical page: buddy links, state, reference count and per-kind words. */
export const FRAME_LAYOUT = struct([
  ['NEXT', 4], // buddy list / slab partial list link (pfn or NIL)
  ['PREV', 4],
  ['INFO', 4], // FRAME_KIND_* in bits 0..3, order in bits 4..8
  ['REF', 4], // mappings and holders of the page (allocated kinds)
  ['AUX0', 4], // SLAB: byte offset of the first free object in the page, or NIL; LARGE: pages
  ['AUX1', 4], // SLAB: objects in use
  ['AUX2', 4], // SLAB: owner CPU
  ['AUX3', 4], // SLAB: size class
] as const);

/** INFO kinds. Allocated kinds are >= FRAME_KIND_FIRST_ALLOCATED. */
export const FRAME_KIND = {
  RESERVED: 0, // never managed (page 0, boot pages, rootfs, mmu's own tables)
  FREE_HEAD: 1, // first page of a free buddy block of the INFO order
  FREE_BODY: 2, // a later page of a free block, or an absorbed head
  CACHED: 3, // in a per-CPU page cache
  PAGE_TABLE: 4,
  ANON: 5, // anonymous or private-copy data, mapped
  FILE: 6, // a page provider's cache page
  SLAB: 7, // a malloc pool page
  LARGE: 8, // a whole-page malloc allocation (head page)
  DEBUG: 9, // a debug-allocator data page
  OTHER: 10, // allocated through the page API by the kernel or a provider
} as const;
/** Lowest allocated kind. */
export const FRAME_KIND_FIRST_ALLOCATED = FRAME_KIND.PAGE_TABLE;
/** INFO bits holding the kind. */
export const FRAME_KIND_MASK = 0xf;
/** Shift of the order in INFO. */
export const FRAME_ORDER_SHIFT = 4;

/** A VMA record: [START, END) virtual, page aligned. Guarded by AS_LOCK. */
export const VMA_LAYOUT = struct([
  ['START', 8], // float64: virtual address (exact: below 2^48)
  ['END', 8], // float64
  ['OFFSET', 8], // float64: file offset of START, bytes
  ['PROT', 4], // PROT_*
  ['FLAGS', 4], // MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS (Linux values)
  ['FILE', 4], // page-provider file id (file mappings)
  ['KIND', 4], // VMA_KIND_*
] as const);

/** VMA kinds. */
export const VMA_KIND = { ANON: 0, FILE: 1, DEBUG: 2 } as const;

/** Word index of a header field. */
export const W = Object.freeze(
  Object.fromEntries(Object.entries(MMU_HEADER_LAYOUT).map(([k, f]) => [k, typeof f === 'number' ? f / 4 : f.offset / 4])),
) as { readonly [K in keyof typeof MMU_HEADER_LAYOUT]: number };

/** Word index of a CPU-block field, relative to the block. */
export const CW = Object.freeze(
  Object.fromEntries(Object.entries(CPU_BLOCK_LAYOUT).map(([k, f]) => [k, typeof f === 'number' ? f / 4 : f.offset / 4])),
) as { readonly [K in keyof typeof CPU_BLOCK_LAYOUT]: number };

/** Word index of a frame field, relative to the record. */
export const FW = Object.freeze(
  Object.fromEntries(Object.entries(FRAME_LAYOUT).map(([k, f]) => [k, typeof f === 'number' ? f / 4 : f.offset / 4])),
) as { readonly [K in keyof typeof FRAME_LAYOUT]: number };

/** Words per frame record. */
export const FRAME_WORDS = FRAME_LAYOUT.SIZE / 4;
/** Words per CPU block. */
export const CPU_BLOCK_WORDS = CPU_BLOCK_LAYOUT.SIZE / 4;
/** Bytes of the state area (header + CPU blocks). */
export const STATE_BYTES = MMU_HEADER_LAYOUT.SIZE + MAX_MMU_CPUS * CPU_BLOCK_LAYOUT.SIZE;
