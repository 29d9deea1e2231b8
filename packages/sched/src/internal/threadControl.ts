/**
 * A thread as its CPU's scheduler sees it: the isolate-local half of a green
 * thread (its continuation, its decayed run time, its place in the run queue).
 * The cross-CPU half (state word, wait links, joiner) is its slot in shared
 * memory. The record belongs to the CPU the thread is homed on; only that
 * CPU's scheduler touches it, except `body`/`result`, which the joiner reads
 * after the thread terminated.
 */
import type { RunQueueEntry } from './runQueue.js';
import type { ThreadRuntime } from './runtime.js';
import type { TimerEntry } from './timerList.js';
import type { Thread } from '../thread.js';

/** A thread's body: a function, usually async; its result is what join() returns. */
export type ThreadBody = () => unknown;

/** The record. */
export class ThreadControl implements RunQueueEntry, ThreadRuntime {
  // thread_runtime (see runtime.ts)
  rtt = 0;
  priority: number;
  renorm = -1;
  /** Real-time priority; 0 time-shared. */
  realtime: number;
  // run queue
  seq = 0;
  heapIndex = -1;
  /** Home CPU (mirrors the slot's CPU word). */
  cpuId: number;
  /** Thread id: generation and slot. */
  tid: number;
  /** Has its body begun? A started thread never leaves its CPU. */
  started = false;
  /** Links in the CPU's list of queued, not-yet-started threads (what the balancer may move). */
  prevUnstarted: ThreadControl | null = null;
  nextUnstarted: ThreadControl | null = null;
  /** Resolves the promise the thread is parked on (or starts it); null while it runs. */
  resumeFn: (() => void) | null = null;
  /** Binds a new park promise's resolver to resumeFn; made once so parking allocates only the promise. */
  readonly executor: (resolve: () => void) => void;
  /** The body, until it starts. */
  body: ThreadBody | null;
  /** What the body returned or threw. */
  result: unknown = undefined;
  failed = false;
  /** CPU time consumed, ns (charged at each switch). */
  cpuNs = 0;
  /** Thread-local values, indexed by ThreadLocal key. */
  locals: unknown[] | null = null;
  /** The timer sleep() and timed waits use; made on first use. */
  timer: TimerEntry | null = null;
  /** What `timer` does when it fires: WAIT_SLEEP or WAIT_SYNC (core.ts). */
  timerKind = 0;
  /** Simulation only: ns of declared CPU work left in the current compute() burst. */
  simRemaining = 0;
  /** The public handle, made on first request. */
  handle: Thread | null = null;
  /** hostAwait(): the settled value or reason. */
  hostValue: unknown = undefined;
  hostFailed = false;

  constructor(
    /** Shared-memory slot. */
    readonly slot: number,
    tid: number,
    /** Word index of the slot's STATE word (hot: read at every switch). */
    readonly stateWord: number,
    cpuId: number,
    body: ThreadBody | null,
    priority: number,
    realtime: number,
    /** Registered entry id, 0 for a closure thread. */
    readonly entry: number,
    /** Kept off the balancer (set at spawn or by Scheduler.pin). */
    public pinned: boolean,
    /** Name for debugging. */
    readonly name: string,
  ) {
    this.tid = tid;
    this.cpuId = cpuId;
    this.body = body;
    this.priority = priority;
    this.realtime = realtime;
    this.executor = (resolve) => {
      this.resumeFn = resolve;
    };
  }

  /** Parks the running thread: the promise resolves when its CPU switches back to it. */
  park(): Promise<void> {
    return new Promise<void>(this.executor);
  }
}
