/**
 * mremap: shrink in place, grow in place when the pages after the mapping
 * are free, or move — by moving page-table entries (2 MiB leaves whole when
 * the destination is 2 MiB aligned), never by copying bytes. Frames keep
 * their reference counts. All allocation (destination tables, splits) happens
 * in a first pass, before anything moves, so running out of memory leaves the
 * mapping untouched.
 */
import { MMU_ERRNO } from './errors.js';
import { AddressSpace } from './addressSpace.js';
import { FAULT_NEED_MEMORY } from './faultHandler.js';
import { alignUp } from './vmaList.js';
import { MMAP_BASE, MMAP_TOP } from './addressLayout.js';
import { MREMAP_FIXED, MREMAP_MAYMOVE } from './mmapFlags.js';
import { HUGE_PAGE_SIZE, PAGE_SIZE } from './pageTableEntry.js';
import { VMA_KIND } from './internal/sharedLayout.js';

const EINVAL = -MMU_ERRNO.EINVAL;
const ENOMEM = -MMU_ERRNO.ENOMEM;
const EFAULT = -MMU_ERRNO.EFAULT;
/** Reclaim rounds before mremap reports ENOMEM. */
const RECLAIM_ROUNDS = 16;

/**
 * mremap(old, oldLength, newLength, flags, newAddr): the mapping's new
 * address, or a negative errno: EINVAL (bad arguments), EFAULT (the old range
 * is not inside one mapping), ENOMEM (no room to grow without
 * MREMAP_MAYMOVE, or no memory for page tables).
 */
export function mremap(as: AddressSpace, old: number, oldLength: number, newLength: number, flags: number, newAddr: number): number {
  const oldLen = alignUp(oldLength, PAGE_SIZE);
  const newLen = alignUp(newLength, PAGE_SIZE);
  if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) !== 0) return EINVAL;
  if ((flags & MREMAP_FIXED) !== 0 && (flags & MREMAP_MAYMOVE) === 0) return EINVAL;
  if (!AddressSpace.validRange(old, oldLen) || !Number.isSafeInteger(newLen) || newLen <= 0) return EINVAL;
  const fixed = (flags & MREMAP_FIXED) !== 0;
  if (fixed && (!AddressSpace.validRange(newAddr, newLen) || (newAddr < old + oldLen && old < newAddr + newLen))) return EINVAL;
  for (let round = 0; ; round++) {
    as.lock();
    let r: number;
    try {
      r = remapLocked(as, old, oldLen, newLen, flags, newAddr);
    } finally {
      as.unlock();
    }
    if (r !== FAULT_NEED_MEMORY) return r;
    if (round >= RECLAIM_ROUNDS || as.reclaim === null || !as.reclaim.reclaimForAllocation(1)) return ENOMEM;
  }
}

function remapLocked(as: AddressSpace, old: number, oldLen: number, newLen: number, flags: number, newAddr: number): number {
  const vmas = as.vmas;
  const i = vmas.find(old);
  if (i < 0 || vmas.end(i) < old + oldLen) return EFAULT;
  const fixed = (flags & MREMAP_FIXED) !== 0;
  if (!fixed && newLen <= oldLen) {
    if (newLen < oldLen) {
      const r = as.unmapLocked(old + newLen, old + oldLen);
      if (r < 0) return r;
    }
    return old;
  }
  if (!fixed && vmas.end(i) === old + oldLen && old + newLen <= MMAP_TOP && vmas.isFree(old + oldLen, old + newLen)) {
    vmas.setRange(i, vmas.start(i), old + newLen);
    vmas.mergeAround(i);
    return old;
  }
  if ((flags & MREMAP_MAYMOVE) === 0) return ENOMEM;
  let dest = newAddr;
  if (fixed) {
    const r = as.unmapLocked(newAddr, newAddr + newLen);
    if (r < 0) return r;
  } else {
    dest = vmas.findGap(newLen, newLen >= HUGE_PAGE_SIZE ? HUGE_PAGE_SIZE : PAGE_SIZE, MMAP_BASE, MMAP_TOP);
    if (dest < 0) return ENOMEM;
  }
  if (newLen < oldLen) {
    const r = as.unmapLocked(old + newLen, old + oldLen);
    if (r < 0) return r;
  }
  const moveLen = Math.min(oldLen, newLen);
  const prepared = prepareMove(as, old, old + moveLen, dest);
  if (prepared < 0) return prepared;
  // Carve the old range into its own record and move it.
  if (vmas.carve(old, old + moveLen) < 0) return ENOMEM;
  const j = vmas.carvedFirst;
  const prot = vmas.prot(j);
  const vflags = vmas.flags(j);
  const file = vmas.file(j);
  const offset = vmas.offset(j);
  const kind = vmas.kind(j);
  vmas.removeAt(j);
  movePages(as, old, old + moveLen, dest);
  // Insert before pruning: prune frees tables no VMA overlaps, and the moved leaves now live under dest.
  const k = vmas.insert(dest, dest + newLen, prot, vflags, file, kind === VMA_KIND.FILE ? offset : 0, kind);
  if (k >= 0) vmas.mergeAround(k);
  as.pt.prune(old, old + moveLen, as.batch, as.vmas);
  as.commit();
  if (k < 0) return ENOMEM;
  return dest;
}

/** True if the 2 MiB leaf at `leaf` moves whole to `dest + (leaf - from)`. */
function movesWhole(leaf: number, from: number, to: number, dest: number): boolean {
  return leaf >= from && leaf + HUGE_PAGE_SIZE <= to && (dest + (leaf - from)) % HUGE_PAGE_SIZE === 0;
}

/** First pass: splits what cannot move whole and creates every destination table. 0 or FAULT_NEED_MEMORY. */
function prepareMove(as: AddressSpace, from: number, to: number, dest: number): number {
  const pt = as.pt;
  let va = from;
  for (;;) {
    const leaf = pt.nextLeaf(va, to);
    if (leaf < 0) return 0;
    if (pt.entryLevel === 2 && !movesWhole(leaf, from, to, dest)) {
      if (pt.splitHuge(pt.entryAddr) < 0) return FAULT_NEED_MEMORY;
      va = Math.max(leaf, from);
      continue;
    }
    const level = pt.entryLevel;
    const ea = pt.ensureEntry(dest + (leaf - from), level);
    if (ea < 0) return FAULT_NEED_MEMORY;
    va = leaf + (level === 2 ? HUGE_PAGE_SIZE : PAGE_SIZE);
  }
}

/** Second pass: moves each leaf's entry to the destination (tables exist, nothing allocates). */
function movePages(as: AddressSpace, from: number, to: number, dest: number): void {
  const pt = as.pt;
  let va = from;
  for (;;) {
    const leaf = pt.nextLeaf(va, to);
    if (leaf < 0) return;
    const level = pt.entryLevel;
    const src = pt.entryAddr;
    const low = pt.low(src);
    const high = pt.high(src);
    const ea = pt.ensureEntry(dest + (leaf - from), level);
    pt.clear(src);
    if (ea >= 0) pt.set(ea, low, high);
    va = leaf + (level === 2 ? HUGE_PAGE_SIZE : PAGE_SIZE);
  }
}
