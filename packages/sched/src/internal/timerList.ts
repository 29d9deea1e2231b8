/**
 * A CPU's timers (OSv's timer_list): a binary min-heap with lazy deletion,
 * because TCP arms and cancels retransmission and delayed-ACK timers far more
 * often than they fire. cancel() is O(1) (the entry stays in the heap,
 * disarmed), and re-arming an entry that is still in the heap to a later time
 * is O(1) too (its heap key stays, and it is re-keyed when it reaches the top);
 * only arming earlier, or arming an entry not in the heap, costs O(log n).
 * Each entry is in the heap at most once, so the heap never holds more than
 * the number of live timer objects. Nothing is allocated per operation.
 */

/** One timer. `fire` runs in scheduler context on the owning CPU and must not block. */
export class TimerEntry {
  /** When it fires, ns on the scheduler's clock; meaningful while armed. */
  deadline = 0;
  /** Heap key: a lower bound of `deadline` while in the heap. Owned by the list. */
  key = 0;
  /** Position in the heap, -1 when not in it. Owned by the list. */
  heapIndex = -1;
  /** Will it fire? */
  armed = false;

  constructor(readonly fire: () => void) {}
}

/** The heap. */
export class TimerList {
  private readonly heap: TimerEntry[] = [];
  private n = 0;

  /** Entries in the heap, armed or not (for tests and stats). */
  get heapSize(): number {
    return this.n;
  }

  /** A lower bound of the earliest deadline (Infinity if none): cheap enough for every preemption point. */
  get earliestKey(): number {
    return this.n > 0 ? this.heap[0]!.key : Number.POSITIVE_INFINITY;
  }

  /** Arms (or re-arms) `e` to fire at `deadline` ns. */
  arm(e: TimerEntry, deadline: number): void {
    e.deadline = deadline;
    e.armed = true;
    if (e.heapIndex >= 0) {
      if (deadline < e.key) {
        e.key = deadline;
        this.up(e, e.heapIndex);
      }
      return;
    }
    e.key = deadline;
    const i = this.n++;
    this.heap[i] = e;
    this.up(e, i);
  }

  /** Disarms `e`; O(1). */
  cancel(e: TimerEntry): void {
    e.armed = false;
  }

  /** The earliest armed deadline, or Infinity; drops and re-keys stale entries on the way. */
  nextDeadline(): number {
    while (this.n > 0) {
      const top = this.heap[0]!;
      if (!top.armed) this.removeTop();
      else if (top.deadline > top.key) {
        top.key = top.deadline;
        this.down(top, 0);
      } else return top.key;
    }
    return Number.POSITIVE_INFINITY;
  }

  /** Fires every armed entry whose deadline is at or before `now`; returns how many fired. */
  expire(now: number): number {
    let fired = 0;
    // Bounded: a callback that re-arms itself at or before `now` fires again next time, not in a loop here.
    for (let budget = this.n; budget > 0 && this.nextDeadline() <= now; budget--) {
      const e = this.heap[0]!;
      this.removeTop();
      e.armed = false;
      fired++;
      e.fire();
    }
    return fired;
  }

  private removeTop(): void {
    const h = this.heap;
    h[0]!.heapIndex = -1;
    const last = h[--this.n]!;
    h[this.n] = undefined as unknown as TimerEntry;
    if (this.n > 0) this.down(last, 0);
  }

  private up(e: TimerEntry, i: number): void {
    const h = this.heap;
    while (i > 0) {
      const pi = (i - 1) >> 1;
      const p = h[pi]!;
      if (p.key <= e.key) break;
      h[i] = p;
      p.heapIndex = i;
      i = pi;
    }
    h[i] = e;
    e.heapIndex = i;
  }

  private down(e: TimerEntry, i: number): void {
    const h = this.heap;
    const n = this.n;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1]!.key < h[c]!.key) c++;
      const child = h[c]!;
      if (child.key >= e.key) break;
      h[i] = child;
      child.heapIndex = i;
      i = c;
    }
    h[i] = e;
    e.heapIndex = i;
  }
}
