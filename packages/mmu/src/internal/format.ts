/**
 * Lays mmu's shared state out in a fresh guest memory (vCPU 0, once, before
 * any other vCPU attaches): the state area, the frame table and the VMA table
 * are carved from the lowest free ranges that fit, everything else in the
 * memory map goes to the buddy allocator.
 */
import { MmuError } from '../errors.js';
import type { PhysRange } from '../interfaces.js';
import { PAGE_SIZE } from '../pageTableEntry.js';
import { MemoryViews, MAX_PHYS_BYTES } from './memoryViews.js';
import {
  CW,
  FRAME_LAYOUT,
  MAX_MMU_CPUS,
  MAX_ORDER,
  MMU_FLAG_HUGE,
  MMU_MAGIC,
  MMU_VERSION,
  NIL,
  POOL_CLASSES,
  STATE_BYTES,
  VMA_LAYOUT,
  W,
} from './sharedLayout.js';
import { PageAllocator } from '../pageAllocator.js';
import { alignUp } from '../vmaList.js';
import { LOW_WATERMARK_FRACTION } from '../reclaimer.js';

/** Page-aligned, clipped, sorted, merged copy of the free ranges ([start, end) bytes). */
export function normalizeRanges(ranges: readonly PhysRange[], bytes: number): [number, number][] {
  const out: [number, number][] = [];
  for (const r of ranges) {
    if (!Number.isSafeInteger(r.base) || !Number.isSafeInteger(r.length) || r.length <= 0) continue;
    const start = Math.max(alignUp(r.base, PAGE_SIZE), PAGE_SIZE); // page 0 is never handed out
    const end = Math.min(r.base + r.length - ((r.base + r.length) % PAGE_SIZE), bytes);
    if (end > start) out.push([start, end]);
  }
  out.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

function carve(ranges: [number, number][], bytes: number, what: string): number {
  for (const r of ranges) {
    if (r[1] - r[0] >= bytes) {
      const at = r[0];
      r[0] += bytes;
      return at;
    }
  }
  throw new MmuError('ENOMEM', `mmu: no free range of ${bytes} bytes for its ${what} — give the machine more memory`);
}

/** Formats the state; returns the views for vCPU `cpu` (its frames index set). Throws MmuError EINVAL/ENOMEM. */
export function formatState(buffer: SharedArrayBuffer, freeRanges: readonly PhysRange[], cpu: number, vmaCapacity: number, hugePages: boolean): MemoryViews {
  const bytes = buffer.byteLength;
  if (bytes % PAGE_SIZE !== 0 || bytes > MAX_PHYS_BYTES || bytes < 16 * PAGE_SIZE) {
    throw new MmuError('EINVAL', `mmu: guest memory of ${bytes} bytes must be a multiple of 4096, at least 64 KiB and at most 4 GiB`);
  }
  if (!Number.isSafeInteger(vmaCapacity) || vmaCapacity < 16) throw new MmuError('EINVAL', `mmu: vmaCapacity ${vmaCapacity} is below 16`);
  const ranges = normalizeRanges(freeRanges, bytes);
  const pages = bytes / PAGE_SIZE;
  const stateAddr = carve(ranges, alignUp(STATE_BYTES, PAGE_SIZE), 'state');
  const frameAddr = carve(ranges, alignUp(pages * FRAME_LAYOUT.SIZE, PAGE_SIZE), 'frame table');
  const vmaAddr = carve(ranges, alignUp(vmaCapacity * VMA_LAYOUT.SIZE, PAGE_SIZE), 'VMA table');
  const u8 = new Uint8Array(buffer);
  u8.fill(0, stateAddr, stateAddr + alignUp(STATE_BYTES, PAGE_SIZE));
  u8.fill(0, frameAddr, frameAddr + pages * FRAME_LAYOUT.SIZE); // RESERVED everywhere
  const m = new MemoryViews(buffer, stateAddr, cpu);
  m.frames = frameAddr >>> 2;
  const i32 = m.i32;
  const h = m.hdr;
  i32[h + W.MAGIC] = MMU_MAGIC;
  i32[h + W.VERSION] = MMU_VERSION;
  i32[h + W.MEM_PAGES] = pages;
  i32[h + W.FRAME_TABLE] = frameAddr;
  i32[h + W.VMA_TABLE] = vmaAddr;
  i32[h + W.VMA_CAPACITY] = vmaCapacity;
  i32[h + W.FLAGS] = hugePages ? MMU_FLAG_HUGE : 0;
  for (let k = 0; k <= MAX_ORDER; k++) i32[h + W.FREE_HEAD + k] = NIL;
  for (let c = 0; c < MAX_MMU_CPUS; c++) {
    const cb = m.cpuBlockOf(c);
    for (let k = 0; k < POOL_CLASSES; k++) i32[cb + CW.POOL_PARTIAL + k] = NIL;
  }
  const alloc = new PageAllocator(m);
  let managed = 0;
  for (const [start, end] of ranges) {
    alloc.addFreeRange(start / PAGE_SIZE, end / PAGE_SIZE);
    managed += (end - start) / PAGE_SIZE;
  }
  if (managed < 8) throw new MmuError('ENOMEM', 'mmu: the memory map leaves fewer than 8 free pages');
  i32[h + W.MANAGED_PAGES] = managed;
  i32[h + W.LOW_WATERMARK] = Math.floor(managed * LOW_WATERMARK_FRACTION);
  return m;
}

/** Validates an existing state for attach; throws MmuError CORRUPT. Returns its views for `cpu`. */
export function attachState(buffer: SharedArrayBuffer, stateAddr: number, cpu: number): MemoryViews {
  if (!Number.isSafeInteger(stateAddr) || stateAddr % PAGE_SIZE !== 0 || stateAddr + STATE_BYTES > buffer.byteLength) {
    throw new MmuError('EINVAL', `mmu: state address ${stateAddr} is not a page inside guest memory`);
  }
  const m = new MemoryViews(buffer, stateAddr, cpu);
  if (m.h(W.MAGIC) !== MMU_MAGIC || m.h(W.VERSION) !== MMU_VERSION) {
    throw new MmuError('CORRUPT', `mmu: no mmu state at 0x${stateAddr.toString(16)} — pass the stateAddress vCPU 0's Mmu.format returned`);
  }
  m.frames = (m.h(W.FRAME_TABLE) >>> 0) >>> 2;
  return m;
}
