/**
 * Views over the scheduler's shared area and its two allocators (thread slots
 * and synchronisation blocks). Views are created once per isolate; every
 * accessor takes word offsets from the tables in sharedLayout.ts.
 *
 * Allocation is lock-free without ABA: each CPU owns a free list that only it
 * pushes to and pops from (a freed slot goes on the freeing CPU's list), and a
 * CPU whose list and the bump region are both exhausted takes another CPU's
 * whole list with one Atomics.exchange. Because a CPU is single-threaded, no
 * slot can be popped and pushed back on the same list while that CPU is in the
 * middle of popping it.
 */
import {
  CPU_LAYOUT,
  HEADER_LAYOUT,
  SCHED_LAYOUT_VERSION,
  SCHED_MAGIC,
  SYNC_BLOCK_WORDS,
  THREAD_SLOT_LAYOUT,
  sharedAreaWords,
} from './sharedLayout.js';
import { MAX_CPUS, MAX_THREADS, THREAD_STATE } from '../constants.js';
import { NEG, SchedError } from '../errors.js';

const H_MAGIC = HEADER_LAYOUT.MAGIC.offset;
const H_VERSION = HEADER_LAYOUT.VERSION.offset;
const H_CPU_COUNT = HEADER_LAYOUT.CPU_COUNT.offset;
const H_THREAD_CAPACITY = HEADER_LAYOUT.THREAD_CAPACITY.offset;
const H_SYNC_CAPACITY = HEADER_LAYOUT.SYNC_CAPACITY.offset;
const H_CPU_BASE = HEADER_LAYOUT.CPU_BASE.offset;
const H_SLOT_BASE = HEADER_LAYOUT.SLOT_BASE.offset;
const H_SYNC_BASE = HEADER_LAYOUT.SYNC_BASE.offset;
const H_THREAD_BUMP = HEADER_LAYOUT.THREAD_BUMP.offset;
const H_SYNC_BUMP = HEADER_LAYOUT.SYNC_BUMP.offset;
const H_CORRUPT = HEADER_LAYOUT.CORRUPT.offset;
const H_LOCK_LIMIT = HEADER_LAYOUT.LOCK_SPIN_LIMIT_MS.offset;

const C_FREE_SLOTS = CPU_LAYOUT.FREE_SLOTS.offset;
const C_FREE_SYNC = CPU_LAYOUT.FREE_SYNC.offset;
const S_STATE = THREAD_SLOT_LAYOUT.STATE.offset;
const S_GEN = THREAD_SLOT_LAYOUT.GEN.offset;
const S_FREE_NEXT = THREAD_SLOT_LAYOUT.FREE_NEXT.offset;
const SLOT_WORDS = THREAD_SLOT_LAYOUT.SIZE;
const CPU_WORDS = CPU_LAYOUT.SIZE;

/** Bits of a thread id that hold the slot number. */
export const TID_SLOT_BITS = 20;
const TID_SLOT_MASK = (1 << TID_SLOT_BITS) - 1;
const GEN_MAX = 2047;

/** Slot number of thread id `tid`. */
export function slotOfTid(tid: number): number {
  return tid & TID_SLOT_MASK;
}

/** Sizes of a new area. */
export interface AreaSizes {
  readonly cpuCount: number;
  readonly threadCapacity: number;
  readonly syncCapacity: number;
  /** How long a wait-queue lock word may stay held before a waiter gives up with EDEADLK, ms. */
  readonly lockLimitMs: number;
}

/** The shared area as seen from one isolate. */
export class SharedArea {
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  readonly cpuCount: number;
  readonly threadCapacity: number;
  readonly syncCapacity: number;
  readonly cpuBase: number;
  readonly slotBase: number;
  readonly syncBase: number;
  readonly lockLimitMs: number;

  private constructor(
    readonly buffer: SharedArrayBuffer,
    readonly byteOffset: number,
    words: number,
  ) {
    this.i32 = new Int32Array(buffer, byteOffset, words);
    this.f32 = new Float32Array(buffer, byteOffset, words);
    this.f64 = new Float64Array(buffer, byteOffset, words >>> 1);
    const h = this.i32;
    this.cpuCount = h[H_CPU_COUNT]!;
    this.threadCapacity = h[H_THREAD_CAPACITY]!;
    this.syncCapacity = h[H_SYNC_CAPACITY]!;
    this.cpuBase = h[H_CPU_BASE]!;
    this.slotBase = h[H_SLOT_BASE]!;
    this.syncBase = h[H_SYNC_BASE]!;
    this.lockLimitMs = h[H_LOCK_LIMIT]!;
  }

  /**
   * Lays out a fresh area at `byteOffset` of `buffer` (which must be zeroed
   * there). Throws SchedError EINVAL on bad sizes or a buffer too small.
   */
  static format(buffer: SharedArrayBuffer, byteOffset: number, sizes: AreaSizes): SharedArea {
    const { cpuCount, threadCapacity, syncCapacity } = sizes;
    checkInt('cpus', cpuCount, 1, MAX_CPUS);
    checkInt('threads', threadCapacity, 2, MAX_THREADS + 1);
    checkInt('syncObjects', syncCapacity, 1, 1 << 24);
    if (byteOffset % 64 !== 0) throw new SchedError('EINVAL', `scheduler area offset ${byteOffset} is not 64-byte aligned`);
    const words = sharedAreaWords(cpuCount, threadCapacity, syncCapacity);
    if (byteOffset + words * 4 > buffer.byteLength) {
      throw new SchedError('EINVAL', `scheduler area needs ${words * 4} bytes at offset ${byteOffset}; the buffer has ${buffer.byteLength}`);
    }
    const h = new Int32Array(buffer, byteOffset, HEADER_LAYOUT.SIZE);
    const cpuBase = HEADER_LAYOUT.SIZE;
    const slotBase = cpuBase + cpuCount * CPU_WORDS;
    h[H_CPU_COUNT] = cpuCount;
    h[H_THREAD_CAPACITY] = threadCapacity;
    h[H_SYNC_CAPACITY] = syncCapacity;
    h[H_CPU_BASE] = cpuBase;
    h[H_SLOT_BASE] = slotBase;
    h[H_SYNC_BASE] = slotBase + threadCapacity * SLOT_WORDS;
    h[H_THREAD_BUMP] = 1; // slot 0 is the nil link
    h[H_SYNC_BUMP] = 1;
    h[H_LOCK_LIMIT] = Math.max(1, Math.floor(sizes.lockLimitMs));
    h[H_VERSION] = SCHED_LAYOUT_VERSION;
    Atomics.store(h, H_MAGIC, SCHED_MAGIC); // last: a reader that sees the magic sees the rest
    return new SharedArea(buffer, byteOffset, words);
  }

  /** Opens an area another isolate formatted. Throws SchedError EINVAL if the header does not describe a valid area. */
  static open(buffer: SharedArrayBuffer, byteOffset: number): SharedArea {
    if (byteOffset % 64 !== 0 || byteOffset + HEADER_LAYOUT.SIZE * 4 > buffer.byteLength) {
      throw new SchedError('EINVAL', `no scheduler area at offset ${byteOffset}`);
    }
    const h = new Int32Array(buffer, byteOffset, HEADER_LAYOUT.SIZE);
    if (Atomics.load(h, H_MAGIC) !== SCHED_MAGIC || h[H_VERSION] !== SCHED_LAYOUT_VERSION) {
      throw new SchedError('EINVAL', `no scheduler area (version ${SCHED_LAYOUT_VERSION}) at offset ${byteOffset} — format it with Scheduler.create first`);
    }
    const cpus = h[H_CPU_COUNT]!;
    const threads = h[H_THREAD_CAPACITY]!;
    const sync = h[H_SYNC_CAPACITY]!;
    const cpuBase = HEADER_LAYOUT.SIZE;
    const consistent =
      cpus >= 1 && cpus <= MAX_CPUS && threads >= 2 && threads <= MAX_THREADS + 1 && sync >= 1 &&
      h[H_CPU_BASE] === cpuBase &&
      h[H_SLOT_BASE] === cpuBase + cpus * CPU_WORDS &&
      h[H_SYNC_BASE] === cpuBase + cpus * CPU_WORDS + threads * SLOT_WORDS;
    const words = sharedAreaWords(cpus, threads, sync);
    if (!consistent || byteOffset + words * 4 > buffer.byteLength) {
      throw new SchedError('EINVAL', `scheduler area header at offset ${byteOffset} is inconsistent`);
    }
    return new SharedArea(buffer, byteOffset, words);
  }

  /** Word index of field offset `f` in CPU `cpu`'s block. */
  cpuWord(cpu: number, f: number): number {
    return this.cpuBase + cpu * CPU_WORDS + f;
  }

  /** Word index of field offset `f` in thread slot `slot`. */
  slotWord(slot: number, f: number): number {
    return this.slotBase + slot * SLOT_WORDS + f;
  }

  /** Is `slot` a usable slot number? */
  validSlot(slot: number): boolean {
    return slot > 0 && slot < this.threadCapacity && (slot | 0) === slot;
  }

  /** Is `word` the first word of a sync block? */
  validSyncWord(word: number): boolean {
    const rel = word - this.syncBase;
    return rel >= SYNC_BLOCK_WORDS && rel < this.syncCapacity * SYNC_BLOCK_WORDS && rel % SYNC_BLOCK_WORDS === 0;
  }

  /** Thread id of the thread in `slot` now. */
  tidOf(slot: number): number {
    return (Atomics.load(this.i32, this.slotWord(slot, S_GEN)) << TID_SLOT_BITS) | slot;
  }

  /** Slot of `tid` if the id is current, else 0. */
  slotIfCurrent(tid: number): number {
    const slot = tid & TID_SLOT_MASK;
    if (!this.validSlot(slot) || this.tidOf(slot) !== tid) return 0;
    return slot;
  }

  /** Counts one invalid value found in shared memory (shown by Scheduler.stats). */
  noteCorrupt(): void {
    Atomics.add(this.i32, H_CORRUPT, 1);
  }

  /** How many invalid values were found so far. */
  corruptCount(): number {
    return Atomics.load(this.i32, H_CORRUPT);
  }

  /** Allocates a thread slot for CPU `cpu`; returns it, or NEG.EAGAIN when none is left. */
  allocSlot(cpu: number): number {
    const slot = this.allocFrom(C_FREE_SLOTS, H_THREAD_BUMP, this.threadCapacity, cpu, (s) => this.slotWord(s, S_FREE_NEXT));
    if (slot <= 0) return NEG.EAGAIN;
    const i = this.i32;
    if (Atomics.load(i, this.slotWord(slot, S_GEN)) === 0) Atomics.store(i, this.slotWord(slot, S_GEN), 1);
    return slot;
  }

  /** Returns `slot` to CPU `cpu`'s free list; bumps its generation so stale ids stop matching. */
  freeSlot(cpu: number, slot: number): void {
    const i = this.i32;
    const g = Atomics.load(i, this.slotWord(slot, S_GEN));
    Atomics.store(i, this.slotWord(slot, S_GEN), g >= GEN_MAX || g < 1 ? 1 : g + 1);
    Atomics.store(i, this.slotWord(slot, S_STATE), THREAD_STATE.FREE);
    this.push(this.cpuWord(cpu, C_FREE_SLOTS), slot, this.slotWord(slot, S_FREE_NEXT));
  }

  /** Allocates a zeroed sync block for CPU `cpu`; returns its first word index, or NEG.EAGAIN. */
  allocSync(cpu: number): number {
    const b = this.allocFrom(C_FREE_SYNC, H_SYNC_BUMP, this.syncCapacity, cpu, (n) => this.syncBase + n * SYNC_BLOCK_WORDS + 1);
    if (b <= 0) return NEG.EAGAIN;
    const w = this.syncBase + b * SYNC_BLOCK_WORDS;
    for (let k = 0; k < SYNC_BLOCK_WORDS; k++) Atomics.store(this.i32, w + k, 0);
    return w;
  }

  /** Frees the sync block at `word` to CPU `cpu`'s list (word 0 is zeroed: KIND free; word 1 holds the link). */
  freeSync(cpu: number, word: number): void {
    Atomics.store(this.i32, word, 0);
    const b = (word - this.syncBase) / SYNC_BLOCK_WORDS;
    this.push(this.cpuWord(cpu, C_FREE_SYNC), b, word + 1);
  }

  private allocFrom(
    headField: number,
    bumpField: number,
    capacity: number,
    cpu: number,
    linkOf: (n: number) => number,
  ): number {
    const own = this.cpuWord(cpu, headField);
    const popped = this.pop(own, capacity, linkOf);
    if (popped > 0) return popped;
    const i = this.i32;
    for (;;) {
      const b = Atomics.load(i, bumpField);
      if (b >= capacity) break;
      if (Atomics.compareExchange(i, bumpField, b, b + 1) === b) return b;
    }
    for (let c = 0; c < this.cpuCount; c++) {
      if (c === cpu) continue;
      const chain = Atomics.exchange(i, this.cpuWord(c, headField), 0);
      if (chain <= 0 || chain >= capacity) continue;
      // Keep the rest of the stolen chain as our own free list, node by node
      // (bounded: a corrupted chain cannot make this loop forever).
      let n = Atomics.load(i, linkOf(chain));
      for (let k = 0; n > 0 && n < capacity && k < capacity; k++) {
        const next = Atomics.load(i, linkOf(n));
        this.push(own, n, linkOf(n));
        n = next;
      }
      return chain;
    }
    return 0;
  }

  private pop(head: number, capacity: number, linkOf: (n: number) => number): number {
    const i = this.i32;
    for (;;) {
      const h = Atomics.load(i, head);
      if (h <= 0) return 0;
      if (h >= capacity) {
        // A corrupted head: drop the list rather than follow it.
        this.noteCorrupt();
        Atomics.compareExchange(i, head, h, 0);
        return 0;
      }
      const next = Atomics.load(i, linkOf(h));
      if (Atomics.compareExchange(i, head, h, next >= 0 && next < capacity ? next : 0) === h) return h;
    }
  }

  /** Pushes node `n`, whose link word is `link`, on the list headed at word `head`. */
  private push(head: number, n: number, link: number): void {
    const i = this.i32;
    for (;;) {
      const h = Atomics.load(i, head);
      Atomics.store(i, link, h);
      if (Atomics.compareExchange(i, head, h, n) === h) return;
    }
  }
}

function checkInt(what: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new SchedError('EINVAL', `${what} must be an integer in [${lo}, ${hi}], got ${v}`);
}
