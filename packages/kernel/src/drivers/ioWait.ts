/**
 * Waiting for device I/O until the scheduler exists. THE SCHEDULER REPLACES
 * THIS FILE: once packages/sched is wired in, a thread that waits for I/O
 * sleeps on a wait queue, the interrupt handlers wake it, and the idle loop
 * (polling, then sleeping on the wake word) is sched's. Until then vCPU 0
 * runs the program on its own event loop, and this poller is what moves I/O
 * forward.
 *
 * It runs only while some source is busy (requests in flight, a receiver or
 * a waiter on a network device). Each turn it lets the microtasks queued
 * before it run (`await` on a resolved promise: the program's continuations,
 * which may submit more requests), takes pending interrupt lines and hands
 * them to their sources' handlers, then polls every source's used rings.
 * While completions keep coming it keeps turning, with device interrupts
 * suppressed (EVENT_IDX moves used_event behind, so a burst of completions
 * costs no interrupt at all). After `pollTurns` turns with nothing completed
 * it arms interrupts (re-checking the rings, race-free) and blocks the vCPU
 * in Cpu.idle() until a device interrupt, the earliest waiter's deadline, or
 * IDLE_SLICE_MS.
 *
 * The known cost of blocking: microtasks the program queues while the
 * poller sleeps run only when it wakes, at the next completion or at most
 * IDLE_SLICE_MS later. A program that awaits its I/O — every program here —
 * never notices.
 */

/** What the poller needs of the vCPU (arch/cpu.ts Cpu provides it). */
import { dispatchInterrupts } from '../arch/interrupts.js';

export interface IoWaitCpu {
  /** Takes and clears this vCPU's pending interrupt lines. */
  takeInterrupts(): number;
  /** Blocks until an interrupt is pending or `timeoutMs` passes. */
  idle(timeoutMs: number): number;
  /** The monotonic clock. */
  readonly hw: { monotonicNs(): number };
}

/** A device the poller drives. Every method is called on vCPU 0 and must not throw. */
export interface IoSource {
  /** Interrupt line (bit of IRQ_PENDING), or -1 for none. */
  readonly irq: number;
  /** Whether the source needs the poller: requests in flight, receivers, waiters. */
  busy(): boolean;
  /** Kicks what was submitted and collects completions; returns how many completed. */
  poll(): number;
  /** Asks for an interrupt at the next completion; false when completions are already waiting (do not sleep). */
  arm(): boolean;
  /** Back to polling: interrupts off (a hint to the device). */
  disarm(): void;
  /** Earliest deadline of a waiter, monotonic ns, or Infinity. */
  deadline(): number;
  /** The source's interrupt line fired (acknowledge the device, look at its status). */
  interrupt(): void;
}

/** How the poller trades CPU for latency; `ioWaitPolicy()` in the kernel API changes it. */
export interface IoWaitPolicy {
  /** Turns with nothing completed before arming interrupts and sleeping (0: sleep at once). */
  readonly pollTurns: number;
  /** Keep device interrupts off while polling (true) or on all the time (false: every completion interrupts). */
  readonly suppressInterrupts: boolean;
}

/**
 * The default policy. A few turns catch completions the device publishes in
 * the same turn of the hv's event loop; longer waits are Cpu.idle's (it
 * spins on the interrupt word before it sleeps). Measured with
 * packages/hv/bench/virtqueue.bench.ts: 64 or 256 turns were no faster with
 * one request outstanding and up to 15% slower with 32.
 */
export const DEFAULT_IO_WAIT_POLICY: IoWaitPolicy = { pollTurns: 4, suppressInterrupts: true };

/** Longest single sleep, ms: bounds how late microtasks queued during a sleep may run. */
export const IDLE_SLICE_MS = 10;

/** Counters, for the benchmarks. */
export interface IoWaitStats {
  turns: number;
  sleeps: number;
  interrupts: number;
}

/** The I/O poller of one vCPU. */
export class IoWait {
  readonly stats: IoWaitStats = { turns: 0, sleeps: 0, interrupts: 0 };
  private readonly sources: IoSource[] = [];
  private running = false;
  private policy: IoWaitPolicy = DEFAULT_IO_WAIT_POLICY;

  constructor(private readonly cpu: IoWaitCpu) {}

  /** Registers a source (at probe time). */
  add(source: IoSource): void {
    this.sources.push(source);
    if (this.policy.suppressInterrupts) source.disarm();
    else source.arm();
  }

  /** The current policy. */
  get currentPolicy(): IoWaitPolicy {
    return this.policy;
  }

  /** Changes the policy (benchmarks). */
  setPolicy(policy: IoWaitPolicy): void {
    this.policy = { pollTurns: Math.max(0, Math.floor(policy.pollTurns)), suppressInterrupts: policy.suppressInterrupts };
    for (const s of this.sources) {
      if (this.policy.suppressInterrupts) s.disarm();
      else s.arm();
    }
  }

  /** The monotonic clock, ns (for sources' deadlines). */
  now(): number {
    return this.cpu.hw.monotonicNs();
  }

  /** A source became busy: make sure the poller runs. Cheap when it already does. */
  wake(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  /**
   * Polls until `done()` is true or `timeoutMs` passes, blocking the vCPU
   * (boot-time waits, before any program runs). Returns whether `done()` held.
   */
  waitSync(done: () => boolean, timeoutMs: number): boolean {
    const deadline = this.cpu.hw.monotonicNs() + timeoutMs * 1e6;
    for (;;) {
      this.pollAll();
      if (done()) return true;
      const left = (deadline - this.cpu.hw.monotonicNs()) / 1e6;
      if (left <= 0) return false;
      if (this.armAll()) this.cpu.idle(Math.min(left, IDLE_SLICE_MS));
      this.dispatch(this.cpu.takeInterrupts());
      this.disarmAll();
    }
  }

  private async run(): Promise<void> {
    let quiet = 0;
    try {
      while (this.anyBusy()) {
        await null; // the program's queued continuations run here
        this.stats.turns++;
        this.dispatch(this.cpu.takeInterrupts());
        if (this.pollAll() > 0) {
          quiet = 0;
          continue;
        }
        if (++quiet <= this.policy.pollTurns) continue;
        quiet = 0;
        this.sleep();
      }
    } finally {
      this.running = false;
    }
  }

  /** Arms every busy source and, unless completions already wait, idles until an interrupt or a deadline. */
  private sleep(): void {
    if (!this.anyBusy()) return;
    if (this.armAll()) {
      let deadline = Infinity;
      for (const s of this.sources) if (s.busy()) deadline = Math.min(deadline, s.deadline());
      const ms = (deadline - this.cpu.hw.monotonicNs()) / 1e6;
      if (ms > 0) {
        this.stats.sleeps++;
        this.cpu.idle(Math.min(ms, IDLE_SLICE_MS));
      }
    }
    this.dispatch(this.cpu.takeInterrupts());
    this.disarmAll();
  }

  private anyBusy(): boolean {
    for (const s of this.sources) if (s.busy()) return true;
    return false;
  }

  private pollAll(): number {
    let n = 0;
    for (const s of this.sources) n += s.poll();
    return n;
  }

  /** Arms interrupts on every busy source; false when one already has completions waiting. */
  private armAll(): boolean {
    let ok = true;
    for (const s of this.sources) if (s.busy() && !s.arm()) ok = false;
    return ok;
  }

  private disarmAll(): void {
    if (!this.policy.suppressInterrupts) return;
    for (const s of this.sources) s.disarm();
  }

  private dispatch(lines: number): void {
    if (lines === 0) return;
    dispatchInterrupts(lines); // IPIs and other non-device lines taken here

    for (const s of this.sources) {
      if (s.irq >= 0 && s.irq < 32 && (lines & (1 << s.irq)) !== 0) {
        this.stats.interrupts++;
        s.interrupt();
      }
    }
  }
}
