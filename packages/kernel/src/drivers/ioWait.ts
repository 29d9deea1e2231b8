/**
 * Waiting for device I/O (vCPU 0, where the drivers live).
 *
 * Under the scheduler (`useScheduler`, from boot once the program's threads
 * can run): a thread that awaits a driver's promise blocks in the scheduler
 * (`track`: concurrent requests of one thread, as `Promise.all` makes, share
 * one park), so the vCPU runs other threads or idles in the scheduler's idle
 * loop. That loop's poll hook (sched/kernelIdle.ts) takes pending interrupt
 * lines — device lines reach their source through `onInterrupt` — and polls
 * the busy sources' used rings; before the vCPU sleeps it arms their
 * interrupts, and the sleep ends at the earliest source deadline. Each batch
 * of completions wakes the parked threads and the kernel's `io` thread,
 * which kicks what was submitted and, while devices stay busy and other
 * threads compete, keeps polling between them (so a CPU-bound thread cannot
 * starve I/O). A promise awaited outside any thread, or by code the
 * scheduler no longer counts as running, settles when the `io` thread next
 * runs (its dispatch is a microtask checkpoint).
 *
 * Before the scheduler (boot-time waits such as seeding from virtio-rng,
 * and the drivers' unit tests) the poller below runs instead:
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

import type { Scheduler } from '@osv-ts/sched';
import { dispatchInterrupts, onInterrupt } from '../arch/interrupts.js';
import type { IdleHooks } from '../sched/kernelIdle.js';

/** What the poller needs of the vCPU (arch/cpu.ts Cpu provides it). */
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
  private sched: Scheduler | null = null;
  /** The `io` kernel thread, and whether it has been asked to run another round. */
  private pumpTid = 0;
  private pumpWanted = false;
  /** Completion batches so far: a parked thread waits for this to move. */
  private epoch = 0;
  /** One park per thread waiting for I/O (thread id -> the park). */
  private readonly parked = new Map<number, Promise<void>>();
  private progressWaiters: (() => void)[] = [];
  private armed = false;

  constructor(private readonly cpu: IoWaitCpu) {}

  /**
   * Hands waiting for I/O to the scheduler of this vCPU: installs the
   * interrupt handlers of every source, the idle hooks, and the `io` thread.
   * Call once, after probing, from boot.
   */
  useScheduler(sched: Scheduler, idle: { setHooks(hooks: IdleHooks): void }): void {
    this.sched = sched;
    for (const s of this.sources) {
      if (s.irq < 0 || s.irq >= 32) continue;
      onInterrupt(s.irq, () => {
        this.stats.interrupts++;
        s.interrupt();
      });
    }
    idle.setHooks({
      poll: () => this.service(),
      beforeSleep: () => this.armForSleep(),
      afterSleep: () => this.disarmAfterSleep(),
      deadlineNs: () => this.earliestDeadline(),
    });
    this.pumpTid = sched.spawn(() => this.pump(), { name: 'io', cpu: sched.localCpuIds[0] ?? 0 }).id;
  }

  /**
   * What a driver returns for a request: `p` itself, settling as before,
   * but a scheduler thread that awaits it is parked in the scheduler until
   * a completion batch settles it. Without a scheduler, or outside a
   * thread, `p` unchanged.
   */
  track<T>(p: Promise<T>): Promise<T> {
    const s = this.sched;
    const t = s?.current();
    if (!s || !t) return p;
    let done = false;
    const mark = (): void => {
      done = true;
    };
    p.then(mark, mark);
    return this.waitFor(t.id, () => done).then(() => p);
  }

  private async waitFor(tid: number, done: () => boolean): Promise<void> {
    await null; // sibling requests made in the same turn (Promise.all) join one park
    while (!done()) await this.park(tid);
  }

  /** The thread's park: blocks it until the next completion batch. */
  private park(tid: number): Promise<void> {
    const have = this.parked.get(tid);
    if (have) return have;
    const s = this.sched!;
    if (s.current()?.id !== tid) return this.nextProgress();
    const epoch = this.epoch;
    const gate = (async (): Promise<void> => {
      try {
        await s.waitUntil(() => this.epoch !== epoch);
      } finally {
        this.parked.delete(tid);
      }
    })();
    this.parked.set(tid, gate);
    return gate;
  }

  private nextProgress(): Promise<void> {
    return new Promise<void>((resolve) => this.progressWaiters.push(resolve));
  }

  /** The idle hook: polls busy sources; true when something completed. */
  private service(): boolean {
    if (!this.anyBusy()) return false;
    if (this.pollAll() === 0) return false;
    this.progress();
    return true;
  }

  /** A completion batch: wake every parked thread and the io thread. */
  private progress(): void {
    this.epoch = (this.epoch + 1) | 0;
    const s = this.sched!;
    for (const tid of this.parked.keys()) s.wake(tid);
    this.wakePump();
    if (this.armed) this.disarmAfterSleep();
    const w = this.progressWaiters;
    if (w.length > 0) {
      this.progressWaiters = [];
      for (const r of w) r();
    }
  }

  private wakePump(): void {
    this.pumpWanted = true;
    if (this.pumpTid !== 0) this.sched!.wake(this.pumpTid);
  }

  /** The io thread: kicks and polls; keeps turning while devices are busy and other threads compete. */
  private async pump(): Promise<void> {
    const s = this.sched!;
    for (;;) {
      this.pumpWanted = false;
      let quiet = 0;
      while (this.anyBusy()) {
        this.stats.turns++;
        if (this.pollAll() > 0) {
          quiet = 0;
          this.progress();
          this.pumpWanted = false;
        }
        const y = s.yield();
        if (y !== undefined) await y;
        else if (++quiet > this.policy.pollTurns) break; // alone: the idle loop polls and sleeps
      }
      await s.waitUntil(() => this.pumpWanted);
    }
  }

  private armForSleep(): void {
    if (!this.anyBusy()) return;
    this.stats.sleeps++;
    this.armed = true;
    this.armAll();
  }

  private disarmAfterSleep(): void {
    if (!this.armed) return;
    this.armed = false;
    this.disarmAll();
  }

  private earliestDeadline(): number {
    let d = Infinity;
    for (const s of this.sources) if (s.busy()) d = Math.min(d, s.deadline());
    return d;
  }

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
    if (this.sched !== null) {
      this.wakePump();
      return;
    }
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
