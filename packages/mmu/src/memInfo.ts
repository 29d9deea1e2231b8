/**
 * Memory statistics in the spirit of /proc/meminfo, read from the shared
 * counters (so any vCPU sees the whole machine).
 */
import type { MemoryViews } from './internal/memoryViews.js';
import { W } from './internal/sharedLayout.js';
import { PAGES_PER_HUGE, PAGE_SIZE } from './pageTableEntry.js';

/** A snapshot of memory use, bytes unless noted. */
export interface MemInfo {
  /** RAM the allocator manages (the boot memory map less mmu's own tables). */
  readonly memTotal: number;
  /** Free: the buddy lists plus every CPU's page cache. */
  readonly memFree: number;
  /** The low watermark: below it the reclaimer runs. */
  readonly lowWatermark: number;
  /** Anonymous memory mapped (including private copies of file pages). */
  readonly anonPages: number;
  /** Of which in 2 MiB leaves. */
  readonly anonHugePages: number;
  /** File pages mapped. */
  readonly mapped: number;
  /** malloc pool pages. */
  readonly slab: number;
  /** Whole-page malloc allocations. */
  readonly mallocLarge: number;
  /** Debug-allocator pages. */
  readonly debugHeap: number;
  /** Paging structures. */
  readonly pageTables: number;
  /** Page faults handled (a count). */
  readonly faults: number;
  /** Inconsistencies found in guest-writable mmu state and ignored (a count). */
  readonly corrupt: number;
}

/** Reads the counters. */
export function readMemInfo(m: MemoryViews): MemInfo {
  const page = (w: number): number => Atomics.load(m.i32, m.hdr + w) * PAGE_SIZE;
  return {
    memTotal: page(W.MANAGED_PAGES),
    memFree: page(W.FREE_PAGES),
    lowWatermark: page(W.LOW_WATERMARK),
    anonPages: page(W.ANON_PAGES),
    anonHugePages: Atomics.load(m.i32, m.hdr + W.HUGE_LEAVES) * PAGES_PER_HUGE * PAGE_SIZE,
    mapped: page(W.FILE_MAPPED),
    slab: page(W.SLAB_PAGES),
    mallocLarge: page(W.LARGE_PAGES),
    debugHeap: page(W.DEBUG_PAGES),
    pageTables: page(W.PT_PAGES),
    faults: Atomics.load(m.i32, m.hdr + W.FAULTS),
    corrupt: Atomics.load(m.i32, m.hdr + W.CORRUPT),
  };
}

/** Formats a MemInfo as /proc/meminfo lines ("MemTotal:   65536 kB"). */
export function formatMemInfo(info: MemInfo): string {
  const rows: [string, number][] = [
    ['MemTotal', info.memTotal],
    ['MemFree', info.memFree],
    ['AnonPages', info.anonPages],
    ['AnonHugePages', info.anonHugePages],
    ['Mapped', info.mapped],
    ['Slab', info.slab],
    ['MallocLarge', info.mallocLarge],
    ['DebugHeap', info.debugHeap],
    ['PageTables', info.pageTables],
    ['LowWatermark', info.lowWatermark],
  ];
  return rows.map(([k, v]) => `${(k + ':').padEnd(16)}${String(v / 1024).padStart(10)} kB`).join('\n') + '\n';
}
