/**
 * A CPU's run queue (OSv's cpu::runqueue, a tree ordered by runtime): a binary
 * min-heap of queued threads. Order: real-time threads first, higher real-time
 * priority first, first-come first-served among equals; then time-shared
 * threads by R'' (least first), first-come first-served among equal R''.
 * Entries carry their heap index, so removing one (the balancer) is O(log n).
 * The array only grows; nothing is allocated per operation once it has.
 */

/** What the run queue needs of a thread. */
export interface RunQueueEntry {
  /** R'' (see runtime.ts). */
  rtt: number;
  /** Real-time priority, 0 for time-shared. */
  realtime: number;
  /** Enqueue order on this CPU: the tie-breaker. */
  seq: number;
  /** Position in the heap, -1 when not queued. Owned by the queue. */
  heapIndex: number;
}

/** Does `a` run before `b`? */
export function runsBefore(a: RunQueueEntry, b: RunQueueEntry): boolean {
  if (a.realtime !== b.realtime) return a.realtime > b.realtime;
  if (a.realtime === 0 && a.rtt !== b.rtt) return a.rtt < b.rtt;
  return a.seq < b.seq;
}

/** The heap. */
export class RunQueue<T extends RunQueueEntry> implements Iterable<T> {
  private readonly heap: T[] = [];
  private n = 0;

  /** Queued threads. */
  get size(): number {
    return this.n;
  }

  /** The thread that runs next, or undefined. */
  peek(): T | undefined {
    return this.n > 0 ? this.heap[0] : undefined;
  }

  /** Queues `t` (which must not be queued). */
  push(t: T): void {
    const i = this.n++;
    this.heap[i] = t;
    this.up(t, i);
  }

  /** Removes and returns the thread that runs next. */
  pop(): T | undefined {
    if (this.n === 0) return undefined;
    const top = this.heap[0]!;
    this.removeAt(0);
    return top;
  }

  /** Removes `t` if it is queued here. */
  remove(t: T): boolean {
    const i = t.heapIndex;
    if (i < 0 || i >= this.n || this.heap[i] !== t) return false;
    this.removeAt(i);
    return true;
  }

  /** Iterates the queued threads in heap (not run) order; used by renormalisation. */
  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.n; i++) yield this.heap[i]!;
  }

  private removeAt(i: number): void {
    const gone = this.heap[i]!;
    gone.heapIndex = -1;
    const last = this.heap[--this.n]!;
    this.heap[this.n] = undefined as unknown as T; // drop the reference for the GC
    if (i === this.n) return;
    this.heap[i] = last;
    last.heapIndex = i;
    if (i > 0 && runsBefore(last, this.heap[(i - 1) >> 1]!)) this.up(last, i);
    else this.down(last, i);
  }

  private up(t: T, i: number): void {
    const h = this.heap;
    while (i > 0) {
      const pi = (i - 1) >> 1;
      const p = h[pi]!;
      if (!runsBefore(t, p)) break;
      h[i] = p;
      p.heapIndex = i;
      i = pi;
    }
    h[i] = t;
    t.heapIndex = i;
  }

  private down(t: T, i: number): void {
    const h = this.heap;
    const n = this.n;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && runsBefore(h[c + 1]!, h[c]!)) c++;
      const child = h[c]!;
      if (!runsBefore(child, t)) break;
      h[i] = child;
      child.heapIndex = i;
      i = c;
    }
    h[i] = t;
    t.heapIndex = i;
  }
}
