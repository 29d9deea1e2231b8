/**
 * What every layer of one stack shares: packet memory, timers, randomness,
 * counters, and the deferral machinery that makes the stack safe to re-enter.
 *
 * Re-entrancy: a synchronous link can hand the stack a frame while the stack
 * is itself transmitting, and an application callback can call into a socket
 * while TCP input is half done. So every entry point runs between enter() and
 * leave(); frames arriving while the stack is busy wait on a backlog, and
 * socket notifications wait on a list, both drained by the outermost leave().
 * The same drain delivers loopback packets, as a BSD netisr would. All of this
 * belongs to the one thread that runs the stack.
 *
 * Time: inside an entry point the stack reads a cached clock, refreshed when
 * the outermost entry begins and for every received frame (as Linux refreshes
 * tcp_mstamp per packet), so the packet paths do not query the clock per call.
 */
import type { Clock, TimerService } from '../clock.js';
import type { Entropy } from '../entropy.js';
import type { MbufPool } from '../mbufPool.js';
import type { NetStats } from '../netStats.js';
import { TimerDriver } from './timerDriver.js';

/** Something that accepts a frame (an mbuf whose data window covers it) taken off the backlog. */
export interface FrameSink {
  /** Processes `m` and owns it afterwards (frees or keeps it). */
  processFrame(m: number): void;
}

/** Something with notifications to deliver once the stack is quiescent (a socket). */
export interface Notifiable {
  /** True while queued on the notify list; owned by StackCore. */
  notifyQueued: boolean;
  /** Delivers pending readiness changes to waiters; may call back into the stack. */
  deliverNotify(): void;
}

/** Shared state of one stack. */
export class StackCore {
  readonly pool: MbufPool;
  readonly clock: Clock;
  readonly timers: TimerDriver;
  readonly entropy: Entropy;
  readonly stats: NetStats;
  /** Nesting depth of entry points currently running. */
  depth = 0;
  /**
   * TCP and UDP output leave their checksums partial (internal/txChecksum.ts):
   * set once some attached link computes them (Link.txChecksumOffload). The
   * interfaces complete them for every other destination.
   */
  txCsumPartial = false;
  /**
   * Offset in the pool's bytes of the region (TSO_SCRATCH_BYTES) where TCP
   * builds a super-segment for a link with segmentation offload, or -1: the
   * stack reserves it from the arena when the first such link attaches. Used
   * only within one synchronous transmit (the Link contract: bytes are valid
   * during the call), so one region serves every connection.
   */
  tsoScratch = -1;
  private readonly backlogM: Int32Array;
  private readonly backlogSink: (FrameSink | null)[];
  private blHead = 0;
  private blCount = 0;
  private readonly notifyList: Notifiable[] = [];
  private notifyHead = 0;

  /** Cached time, ms; see now(). */
  private time = 0;

  /** Builds the core and its timer heap, whose firing is itself an entry point. */
  constructor(pool: MbufPool, clock: Clock, service: TimerService, entropy: Entropy, stats: NetStats) {
    this.pool = pool;
    this.clock = clock;
    this.time = clock.now();
    this.timers = new TimerDriver({ now: () => this.now() }, service, (fire) => {
      this.enter();
      try {
        fire();
      } finally {
        this.leave();
      }
    });
    this.entropy = entropy;
    this.stats = stats;
    this.backlogM = new Int32Array(pool.capacity);
    this.backlogSink = new Array<FrameSink | null>(pool.capacity).fill(null);
  }

  /** The stack's time, ms: cached inside entry points, read from the clock outside them. */
  now(): number {
    return this.depth > 0 ? this.time : (this.time = this.clock.now());
  }

  /** Marks the start of an entry point. Pair with leave() in a finally. */
  enter(): void {
    if (this.depth++ === 0) this.time = this.clock.now();
  }

  /** Ends an entry point; the outermost one drains deferred work. */
  leave(): void {
    if (this.depth > 1) {
      this.depth--;
      return;
    }
    try {
      this.drain();
    } finally {
      this.depth = 0;
    }
  }

  /**
   * Hands a received frame to `sink`: at once when the stack is idle, else via
   * the backlog. The backlog holds at most one entry per mbuf, so it never overflows.
   */
  input(sink: FrameSink, m: number): void {
    if (this.depth > 0) {
      this.queueFrame(sink, m);
      return;
    }
    this.depth = 1;
    this.time = this.clock.now();
    try {
      sink.processFrame(m);
      this.drain();
    } finally {
      this.depth = 0;
    }
  }

  /** Queues a frame for processing when the current entry point finishes (loopback delivery). */
  queueFrame(sink: FrameSink, m: number): void {
    const cap = this.backlogM.length;
    const i = (this.blHead + this.blCount) % cap;
    this.backlogM[i] = m;
    this.backlogSink[i] = sink;
    this.blCount++;
  }

  /** Queues `n` to have deliverNotify called once the stack is quiescent (at most once per drain). */
  notify(n: Notifiable): void {
    if (n.notifyQueued) return;
    n.notifyQueued = true;
    this.notifyList.push(n);
  }

  private drain(): void {
    for (;;) {
      if (this.blCount > 0) {
        const cap = this.backlogM.length;
        const m = this.backlogM[this.blHead]!;
        const sink = this.backlogSink[this.blHead]!;
        this.backlogSink[this.blHead] = null;
        this.blHead = (this.blHead + 1) % cap;
        this.blCount--;
        this.time = this.clock.now();
        sink.processFrame(m);
        continue;
      }
      if (this.notifyHead < this.notifyList.length) {
        const n = this.notifyList[this.notifyHead++]!;
        n.notifyQueued = false;
        n.deliverNotify();
        continue;
      }
      this.notifyList.length = 0;
      this.notifyHead = 0;
      return;
    }
  }
}
