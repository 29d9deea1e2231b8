/**
 * The stack's timers: an indexed binary min-heap of preallocated Timer objects.
 * Arming, re-arming and cancelling are O(log n) and allocate nothing, so TCP
 * can move its retransmission and delayed-ACK timers on every segment. Ties on
 * the deadline fire in arming order, which keeps simulations deterministic.
 * Owned by the stack's thread; not safe across threads.
 */

/** A reusable timer; create one per purpose (per connection), arm it many times. */
export class Timer {
  /** Absolute deadline, ms on the stack's clock; meaningful while armed. */
  deadline = 0;
  /** Position in the heap, or -1 when not armed. */
  index = -1;
  /** Arming order, for stable ties. */
  seq = 0;
  /** Called when the deadline passes, with the timer already disarmed. */
  readonly fire: () => void;

  constructor(fire: () => void) {
    this.fire = fire;
  }

  /** True while armed. */
  get armed(): boolean {
    return this.index >= 0;
  }
}

/** Min-heap of armed timers ordered by (deadline, seq). */
export class TimerQueue {
  private readonly heap: Timer[] = [];
  private nextSeq = 0;

  /** Number of armed timers. */
  get size(): number {
    return this.heap.length;
  }

  /** Earliest deadline, or Infinity when nothing is armed. */
  nextDeadline(): number {
    const t = this.heap[0];
    return t === undefined ? Infinity : t.deadline;
  }

  /** Arms `t` for `deadline`, moving it if it was already armed. */
  arm(t: Timer, deadline: number): void {
    t.seq = this.nextSeq++;
    if (t.index >= 0) {
      const old = t.deadline;
      t.deadline = deadline;
      if (deadline < old) this.up(t.index);
      else this.down(t.index);
      return;
    }
    t.deadline = deadline;
    t.index = this.heap.length;
    this.heap.push(t);
    this.up(t.index);
  }

  /** Disarms `t`; does nothing if it is not armed. */
  cancel(t: Timer): void {
    const i = t.index;
    if (i < 0) return;
    const last = this.heap.pop()!;
    t.index = -1;
    if (last === t) return;
    this.heap[i] = last;
    last.index = i;
    this.up(i);
    this.down(last.index);
  }

  /**
   * Removes and returns the earliest timer if its deadline is ≤ `now`, else
   * null. The caller fires it (so it can wrap the call as it likes).
   */
  popDue(now: number): Timer | null {
    const t = this.heap[0];
    if (t === undefined || t.deadline > now) return null;
    this.cancel(t);
    return t;
  }

  private less(a: Timer, b: Timer): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  private up(i: number): void {
    const h = this.heap;
    const t = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = h[p]!;
      if (!this.less(t, pt)) break;
      h[i] = pt;
      pt.index = i;
      i = p;
    }
    h[i] = t;
    t.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
      const ct = h[c]!;
      if (!this.less(ct, t)) break;
      h[i] = ct;
      ct.index = i;
      i = c;
    }
    h[i] = t;
    t.index = i;
  }
}
