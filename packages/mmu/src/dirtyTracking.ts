/**
 * Dirty-page query-and-clear over a range (for msync, a garbage collector's
 * card marking, checkpoints) and msync itself. The dirty bit is the leaf's D
 * bit, which the walker sets on the first write through a translation; after
 * clearing, a shootdown drops every vCPU's write-ready TLB entries so the next
 * write walks again and sets D anew.
 */
import { MMU_ERRNO } from './errors.js';
import { AddressSpace } from './addressSpace.js';
import { FAULT_NEED_MEMORY } from './faultHandler.js';
import { alignUp } from './vmaList.js';
import { MAP_SHARED, MS_ASYNC, MS_INVALIDATE, MS_SYNC } from './mmapFlags.js';
import { HUGE_PAGE_SIZE, PAGES_PER_HUGE, PAGE_SIZE, PDE_2M_ADDR_LO, PTE_ADDR_LO, PTE_D, PTE_P } from './pageTableEntry.js';
import { VMA_KIND } from './internal/sharedLayout.js';

const EINVAL = -MMU_ERRNO.EINVAL;
const ENOMEM = -MMU_ERRNO.ENOMEM;
const EIO = -MMU_ERRNO.EIO;

/**
 * Marks out[k] = 1 for every dirty page k of [addr, addr + out.length pages)
 * (0 for clean or unmapped ones) and, when `clear`, cleans them. Returns the
 * number of dirty pages, or EINVAL / ENOMEM (no memory to split a 2 MiB leaf
 * that straddles the range while clearing).
 */
export function queryDirty(as: AddressSpace, addr: number, out: Uint8Array, clear: boolean): number {
  const len = out.length * PAGE_SIZE;
  if (!AddressSpace.validRange(addr, len)) return EINVAL;
  as.lock();
  try {
    out.fill(0);
    const r = scan(as, addr, addr + len, clear, out, -1);
    if (r === FAULT_NEED_MEMORY) return ENOMEM;
    if (clear) as.commit();
    return r;
  } finally {
    as.unlock();
  }
}

/**
 * Walks the leaves of [start, end): records dirty pages in `out` (when given)
 * and writes them back through the provider for VMA `writeBackVma` (>= 0),
 * clearing D when `clear`. Returns the dirty page count or FAULT_NEED_MEMORY.
 */
function scan(as: AddressSpace, start: number, end: number, clear: boolean, out: Uint8Array | null, writeBackVma: number): number {
  const pt = as.pt;
  let dirty = 0;
  let va = start;
  for (;;) {
    const leaf = pt.nextLeaf(va, end);
    if (leaf < 0) return dirty;
    const level = pt.entryLevel;
    const ea = pt.entryAddr;
    const span = level === 2 ? HUGE_PAGE_SIZE : PAGE_SIZE;
    const low = pt.low(ea);
    if ((low & PTE_D) !== 0 && (low & PTE_P) !== 0) {
      if (clear && level === 2 && (leaf < start || leaf + span > end)) {
        if (pt.splitHuge(ea) < 0) return FAULT_NEED_MEMORY;
        va = Math.max(leaf, start);
        continue;
      }
      const from = Math.max(leaf, start);
      const to = Math.min(leaf + span, end);
      if (out !== null) out.fill(1, (from - start) / PAGE_SIZE, (to - start) / PAGE_SIZE);
      dirty += (to - from) / PAGE_SIZE;
      if (writeBackVma >= 0 && writeBack(as, writeBackVma, leaf, level === 2 ? (low & PDE_2M_ADDR_LO) >>> 0 : (low & PTE_ADDR_LO) >>> 0, level) < 0) return EIO;
      if (clear) Atomics.and(as.m.i32, ea >>> 2, ~PTE_D);
    }
    va = leaf + span;
  }
}

function writeBack(as: AddressSpace, i: number, leaf: number, phys: number, level: number): number {
  const files = as.files;
  if (files === null) return EIO;
  const pages = level === 2 ? PAGES_PER_HUGE : 1;
  for (let k = 0; k < pages; k++) {
    const r = files.writePage(as.vmas.file(i), as.vmas.offset(i) + (leaf - as.vmas.start(i)) + k * PAGE_SIZE, phys + k * PAGE_SIZE);
    if (r < 0) return r;
  }
  return 0;
}

/**
 * msync(addr, length, flags): writes the dirty pages of MAP_SHARED file
 * mappings in the range back through the page provider and cleans them.
 * Returns 0, EINVAL, ENOMEM (part of the range not mapped) or EIO.
 */
export function msync(as: AddressSpace, addr: number, length: number, flags: number): number {
  const len = alignUp(length, PAGE_SIZE);
  if (!AddressSpace.validRange(addr, len) || (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) !== 0) return EINVAL;
  if ((flags & MS_ASYNC) !== 0 && (flags & MS_SYNC) !== 0) return EINVAL;
  const end = addr + len;
  as.lock();
  try {
    if (!as.covered(addr, end)) return ENOMEM;
    let scanned = false;
    try {
      for (let i = as.vmas.firstEndingAfter(addr); i < as.vmas.count() && as.vmas.start(i) < end; i++) {
        if (as.vmas.kind(i) !== VMA_KIND.FILE || (as.vmas.flags(i) & MAP_SHARED) === 0) continue;
        scanned = true;
        const r = scan(as, Math.max(addr, as.vmas.start(i)), Math.min(end, as.vmas.end(i)), true, null, i);
        if (r < 0) return r === FAULT_NEED_MEMORY ? ENOMEM : r;
      }
      return 0;
    } finally {
      if (scanned) as.commit(); // dirty bits were cleared: drop write-ready translations
    }
  } finally {
    as.unlock();
  }
}
