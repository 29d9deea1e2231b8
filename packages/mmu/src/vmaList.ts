/**
 * The address space's list of virtual memory areas: an array of VMA_LAYOUT
 * records in guest memory, sorted by start, non-overlapping, guarded by
 * AS_LOCK (OSv keeps an intrusive set under vma_list_mutex; an array with
 * binary search serves the same lookups, and every vCPU can read it). Each
 * record holds its range, protection, MAP_* flags, kind and, for file
 * mappings, the provider's file id and the file offset of its start.
 */
import type { MemoryViews } from './internal/memoryViews.js';
import { VMA_KIND, VMA_LAYOUT, W } from './internal/sharedLayout.js';
import type { FaultMapping } from './errors.js';

const REC = VMA_LAYOUT.SIZE;
const O_START = VMA_LAYOUT.START.offset / 8;
const O_END = VMA_LAYOUT.END.offset / 8;
const O_OFFSET = VMA_LAYOUT.OFFSET.offset / 8;
const O_PROT = VMA_LAYOUT.PROT.offset / 4;
const O_FLAGS = VMA_LAYOUT.FLAGS.offset / 4;
const O_FILE = VMA_LAYOUT.FILE.offset / 4;
const O_KIND = VMA_LAYOUT.KIND.offset / 4;
const KIND_NAMES = ['anonymous', 'file', 'debug-heap'];

/** One vCPU's view of the shared VMA list. All methods need AS_LOCK held. */
export class VmaList {
  private readonly m: MemoryViews;
  private base = 0;
  /** Records the table can hold. */
  capacity = 0;

  constructor(views: MemoryViews) {
    this.m = views;
  }

  /** Loads the table's place from the header. */
  attach(): void {
    this.base = this.m.h(W.VMA_TABLE) >>> 0;
    this.capacity = this.m.h(W.VMA_CAPACITY);
  }

  /** Records in use. */
  count(): number {
    return this.m.i32[this.m.hdr + W.VMA_COUNT]!;
  }

  private setCount(n: number): void {
    this.m.i32[this.m.hdr + W.VMA_COUNT] = n;
  }

  private f(i: number): number {
    return (this.base + i * REC) / 8;
  }

  private w(i: number): number {
    return (this.base + i * REC) / 4;
  }

  /** First address of record i. */
  start(i: number): number {
    return this.m.f64[this.f(i) + O_START]!;
  }
  /** End (exclusive) of record i. */
  end(i: number): number {
    return this.m.f64[this.f(i) + O_END]!;
  }
  /** File offset of record i's start. */
  offset(i: number): number {
    return this.m.f64[this.f(i) + O_OFFSET]!;
  }
  /** PROT_* of record i. */
  prot(i: number): number {
    return this.m.i32[this.w(i) + O_PROT]!;
  }
  /** MAP_* flags of record i. */
  flags(i: number): number {
    return this.m.i32[this.w(i) + O_FLAGS]!;
  }
  /** File id of record i. */
  file(i: number): number {
    return this.m.i32[this.w(i) + O_FILE]!;
  }
  /** VMA_KIND of record i. */
  kind(i: number): number {
    return this.m.i32[this.w(i) + O_KIND]!;
  }
  /** Sets record i's protection. */
  setProt(i: number, prot: number): void {
    this.m.i32[this.w(i) + O_PROT] = prot;
  }

  private write(i: number, start: number, end: number, offset: number, prot: number, flags: number, file: number, kind: number): void {
    const f = this.f(i);
    const w = this.w(i);
    const { f64, i32 } = this.m;
    f64[f + O_START] = start;
    f64[f + O_END] = end;
    f64[f + O_OFFSET] = offset;
    i32[w + O_PROT] = prot;
    i32[w + O_FLAGS] = flags;
    i32[w + O_FILE] = file;
    i32[w + O_KIND] = kind;
  }

  /** Index of the first record whose end is above `va` (count() if none). */
  firstEndingAfter(va: number): number {
    let lo = 0;
    let hi = this.count();
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.end(mid) <= va) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the record containing `va`, or -1. */
  find(va: number): number {
    const i = this.firstEndingAfter(va);
    return i < this.count() && this.start(i) <= va ? i : -1;
  }

  /** True if no record meets [start, end). */
  isFree(start: number, end: number): boolean {
    const i = this.firstEndingAfter(start);
    return i >= this.count() || this.start(i) >= end;
  }

  /** Inserts a record (the range must be free); returns its index, or -1 if the table is full. */
  insert(start: number, end: number, prot: number, flags: number, file: number, offset: number, kind: number): number {
    const n = this.count();
    if (n >= this.capacity) return -1;
    const i = this.firstEndingAfter(start);
    if (i < n) this.m.u8.copyWithin(this.base + (i + 1) * REC, this.base + i * REC, this.base + n * REC);
    this.write(i, start, end, offset, prot, flags, file, kind);
    this.setCount(n + 1);
    return i;
  }

  /** Removes records [i, j). */
  removeAt(i: number, j = i + 1): void {
    const n = this.count();
    this.m.u8.copyWithin(this.base + i * REC, this.base + j * REC, this.base + n * REC);
    this.setCount(n - (j - i));
  }

  /** Splits the record containing `addr` strictly inside it in two; 0, or -1 if the table is full. */
  splitAt(addr: number): number {
    const i = this.find(addr);
    if (i < 0 || this.start(i) === addr) return 0;
    const n = this.count();
    if (n >= this.capacity) return -1;
    this.m.u8.copyWithin(this.base + (i + 1) * REC, this.base + i * REC, this.base + n * REC);
    this.setCount(n + 1);
    const delta = addr - this.start(i);
    this.m.f64[this.f(i) + O_END] = addr;
    this.m.f64[this.f(i + 1) + O_START] = addr;
    if (this.kind(i + 1) === VMA_KIND.FILE) this.m.f64[this.f(i + 1) + O_OFFSET] = this.offset(i) + delta;
    return 0;
  }

  /**
   * Splits records so that [start, end) is covered by whole records; returns
   * [first, last) indices of the records inside the range, packed into the
   * fields below, or -1 if the table is full.
   */
  carve(start: number, end: number): number {
    if (this.splitAt(start) < 0 || this.splitAt(end) < 0) return -1;
    this.carvedFirst = this.firstEndingAfter(start);
    let j = this.carvedFirst;
    while (j < this.count() && this.start(j) < end) j++;
    this.carvedEnd = j;
    return 0;
  }
  /** First record index of the last carve(). */
  carvedFirst = 0;
  /** One past the last record index of the last carve(). */
  carvedEnd = 0;

  /** Sets start and offset of record i (used by mremap's in-place growth and moves). */
  setRange(i: number, start: number, end: number): void {
    const f = this.f(i);
    if (this.kind(i) === VMA_KIND.FILE) this.m.f64[f + O_OFFSET] = this.offset(i) + (start - this.start(i));
    this.m.f64[f + O_START] = start;
    this.m.f64[f + O_END] = end;
  }

  /** Merges record i with its neighbours where the result maps the same way. */
  mergeAround(i: number): void {
    this.mergeRange(i, i);
  }

  /**
   * Merges every compatible adjacent pair among records first-1 .. last+1, so
   * that one mapping is one record whatever splits made it (mremap relies on
   * this, as Linux's does on vma_merge).
   */
  mergeRange(first: number, last: number): void {
    let i = Math.max(0, first - 1);
    let end = last + 1;
    while (i < end && i + 1 < this.count()) {
      if (this.compatible(i, i + 1)) {
        this.m.f64[this.f(i) + O_END] = this.end(i + 1);
        this.removeAt(i + 1);
        end--;
      } else i++;
    }
  }

  private compatible(a: number, b: number): boolean {
    if (this.end(a) !== this.start(b) || this.prot(a) !== this.prot(b) || this.flags(a) !== this.flags(b)) return false;
    if (this.kind(a) !== this.kind(b) || this.kind(a) === VMA_KIND.DEBUG) return false;
    if (this.kind(a) === VMA_KIND.ANON) return true;
    return this.file(a) === this.file(b) && this.offset(a) + (this.end(a) - this.start(a)) === this.offset(b);
  }

  /**
   * Lowest `align`-aligned address a in [lo, hi) with [a, a + len) free, or -1.
   * First fit over the gaps between records.
   */
  findGap(len: number, align: number, lo: number, hi: number): number {
    let a = alignUp(lo, align);
    for (let i = this.firstEndingAfter(lo); i < this.count(); i++) {
      if (a + len <= this.start(i)) break;
      a = Math.max(a, alignUp(this.end(i), align));
    }
    return a + len <= hi ? a : -1;
  }

  /** A plain description of record i, for a SegmentationFault. */
  describe(i: number): FaultMapping {
    return { start: this.start(i), end: this.end(i), prot: this.prot(i), flags: this.flags(i), kind: KIND_NAMES[this.kind(i)] ?? 'unknown' };
  }
}

/** Rounds `a` up to a multiple of `align` (a power of two or any positive integer). */
export function alignUp(a: number, align: number): number {
  const r = a % align;
  return r === 0 ? a : a + align - r;
}
