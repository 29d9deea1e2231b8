/**
 * The deterministic simulation: N virtual CPUs and a virtual clock, in one
 * isolate, running the same per-CPU scheduler as the real settings. A
 * simulated thread declares the CPU time it consumes with `compute(ns)`; its
 * JavaScript between two such calls takes no virtual time. The simulation
 * advances the clock from event to event (a compute burst ends, a CPU's
 * preemption deadline or timer comes due, a wake-up or IPI arrives) and steps
 * one CPU at a time, always the one with the earliest event (lowest id on
 * ties), so a run is exactly reproducible.
 *
 * A preempted thread keeps the rest of its burst and continues it when it is
 * switched back in, as if its CPU-bound code had been interrupted at a
 * preemption point. Cross-CPU wake-ups go through the shared incoming lists
 * exactly as between workers.
 */
import { Scheduler } from '../scheduler.js';
import type { Cpu, CpuDriver } from '../internal/cpu.js';
import { REASON_PREEMPT } from '../internal/cpu.js';
import type { ThreadControl } from '../internal/threadControl.js';
import { hasIncoming } from '../internal/incoming.js';
import { CPU_RUNNING, CPU_SLEEPING } from '../constants.js';
import { SchedError } from '../errors.js';

/** Options of a simulation. */
export interface SimulationOptions {
  /** Virtual CPUs (1..64). */
  readonly cpus: number;
  /** Thread slots (default 4096). */
  readonly threads?: number;
  /** Synchronisation blocks (default 1024). */
  readonly syncObjects?: number;
  /** Run the load balancer (default true). */
  readonly balance?: boolean;
  /** What a detached thread threw (default: an unhandled rejection). */
  readonly onThreadError?: (error: unknown, tid: number) => void;
}

/** Limits of one run. */
export interface SimRunOptions {
  /** Stop before the first event after this virtual time, ns (default: no limit). */
  readonly untilNs?: number;
  /** Stop after this many steps (default: no limit). */
  readonly maxSteps?: number;
  /** Checked after every step; stop when it returns true. */
  readonly stopWhen?: () => boolean;
}

/** How a run ended. */
export interface SimRunResult {
  /** Steps taken. */
  readonly steps: number;
  /** Virtual time at the end, ns. */
  readonly nowNs: number;
  /** True if it ended because nothing was left to do (every CPU idle, no timer armed). */
  readonly quiescent: boolean;
}

/** The simulated machine. */
export class Simulation {
  /** The scheduler running all the virtual CPUs (spawn threads and make sync objects with it). */
  readonly sched: Scheduler;
  /** Wake IPIs sent to idle virtual CPUs. */
  ipis = 0;
  private now = 0;
  private settled = true;
  private settleResolve: (() => void) | null = null;
  private readonly cpus: readonly Cpu[];
  /** Each CPU's next event time as last computed; recomputed only for CPUs a step touched. */
  private readonly times: Float64Array;
  private readonly dirty: Uint8Array;
  private readonly dirtyList: number[] = [];
  private readonly settleExecutor = (resolve: () => void): void => {
    this.settleResolve = resolve;
  };

  constructor(opts: SimulationOptions) {
    this.sched = Scheduler.create({
      cpus: opts.cpus,
      threads: opts.threads ?? 4096,
      syncObjects: opts.syncObjects ?? 1024,
      clock: { nowNs: () => this.now },
      ipi: {
        sendWake: (cpu) => {
          this.ipis++;
          this.markDirty(cpu);
        },
      },
      balance: opts.balance ?? true,
      preemptCheckEvery: 1,
      // One isolate: a wait-queue lock found held can only be corruption, never a peer about to release it.
      lockLimitMs: 1,
      ...(opts.onThreadError === undefined ? {} : { onThreadError: opts.onThreadError }),
    });
    this.cpus = this.sched.localCpuObjects();
    this.times = new Float64Array(this.cpus.length);
    this.dirty = new Uint8Array(this.cpus.length);
    this.sched.onKick = (cpu) => this.markDirty(cpu);
    const driver: CpuDriver = {
      resume: (cpu, t) => this.resume(cpu, t),
      idle: (cpu) => {
        Atomics.store(this.sched.words.view, cpu.stateIdx, CPU_SLEEPING);
        this.settle();
      },
    };
    for (const cpu of this.cpus) {
      cpu.driver = driver;
      Atomics.store(this.sched.words.view, cpu.stateIdx, CPU_SLEEPING);
    }
  }

  /** Virtual time, ns. */
  get nowNs(): number {
    return this.now;
  }

  /**
   * The running thread consumes `ns` of CPU time. Resolves when it has had
   * that much CPU (preemptions included). Throws SchedError EPERM outside a thread.
   */
  compute(ns: number): Promise<void> | undefined {
    const t = this.sched.currentOrThrow('compute');
    if (!(ns > 0)) return undefined;
    const cpu = this.sched.cpuOf(t);
    t.simRemaining = Math.ceil(ns);
    cpu.burstStart = this.now;
    const p = t.park();
    this.settle();
    return p;
  }

  /** Runs events until a limit, or until nothing is left to do. */
  async run(opts: SimRunOptions = {}): Promise<SimRunResult> {
    const until = opts.untilNs ?? Number.POSITIVE_INFINITY;
    const maxSteps = opts.maxSteps ?? Number.POSITIVE_INFINITY;
    let steps = 0;
    // Work done outside a run (spawns, timers armed by the caller) may have touched any CPU.
    for (let c = 0; c < this.cpus.length; c++) this.markDirty(c);
    while (steps < maxSteps) {
      for (const c of this.dirtyList) {
        this.times[c] = this.eventTime(this.cpus[c]!);
        this.dirty[c] = 0;
      }
      this.dirtyList.length = 0;
      let best: Cpu | null = null;
      let bestT = Number.POSITIVE_INFINITY;
      const times = this.times;
      for (let c = 0; c < times.length; c++) {
        if (times[c]! < bestT) {
          bestT = times[c]!;
          best = this.cpus[c]!;
        }
      }
      if (best === null) return { steps, nowNs: this.now, quiescent: true };
      if (bestT > until) {
        this.now = until;
        return { steps, nowNs: this.now, quiescent: false };
      }
      // Virtual time stays a whole number of ns, so burst arithmetic is exact.
      if (bestT > this.now) this.now = Math.ceil(bestT);
      this.settled = false;
      this.markDirty(best.id);
      this.step(best);
      if (!this.settled) await new Promise<void>(this.settleExecutor);
      steps++;
      if (opts.stopWhen !== undefined && opts.stopWhen()) break;
    }
    return { steps, nowNs: this.now, quiescent: false };
  }

  private markDirty(cpu: number): void {
    if (this.dirty[cpu] === 0) {
      this.dirty[cpu] = 1;
      this.dirtyList.push(cpu);
    }
  }

  /** When `cpu` next needs a step (Infinity: never, as things stand). */
  private eventTime(cpu: Cpu): number {
    const view = this.sched.words.view;
    const cur = cpu.current;
    if (Atomics.load(view, cpu.preemptIdx) !== 0 || hasIncoming(this.sched.area, cpu.id)) return this.now;
    const timer = cpu.timers.nextDeadline();
    if (cur === null) return cpu.rq.size > 0 ? this.now : timer;
    const end = cpu.burstStart + cur.simRemaining;
    const e = cpu.nextEventNs();
    const t = timer < e ? timer : e;
    return end < t ? end : t;
  }

  private step(cpu: Cpu): void {
    const cur = cpu.current;
    this.sched.setExecuting(cpu, cur);
    if (cur === null) {
      if (!cpu.idleStep()) this.settle();
      return;
    }
    const used = this.now - cpu.burstStart;
    cur.simRemaining = used >= cur.simRemaining ? 0 : cur.simRemaining - used;
    cpu.burstStart = this.now;
    if (cur.simRemaining === 0) {
      // The burst is done: the thread's code runs on from its compute() call.
      this.resumeCode(cur);
      return;
    }
    const n = cpu.schedule(cur, REASON_PREEMPT);
    if (n === cur) this.settle();
    else cpu.dispatch(n);
  }

  private resume(cpu: Cpu, t: ThreadControl): void {
    Atomics.store(this.sched.words.view, cpu.stateIdx, CPU_RUNNING);
    if (t.simRemaining > 0) {
      cpu.burstStart = this.now;
      this.settle();
      return;
    }
    this.resumeCode(t);
  }

  private resumeCode(t: ThreadControl): void {
    const r = t.resumeFn;
    t.resumeFn = null;
    if (r === null) throw new SchedError('EIO', `simulation: thread ${t.tid} has no continuation to resume`);
    r();
  }

  private settle(): void {
    this.settled = true;
    const r = this.settleResolve;
    this.settleResolve = null;
    if (r !== null) r();
  }
}
