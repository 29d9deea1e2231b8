/**
 * One CPU's scheduler (OSv's sched::cpu): its run queue, normaliser, timers,
 * incoming wake-ups and load balancer, and the decision of which thread runs
 * next (reschedule_from_interrupt). Everything here runs on the CPU that owns
 * it; other CPUs reach it only through shared memory (incoming lists, LOAD,
 * PREEMPT and STATE words).
 *
 * How a "context switch" happens: the running thread calls switchFrom() at a
 * blocking or preemption point; schedule() picks the next thread; dispatch()
 * resolves that thread's park promise (one microtask hop) and the caller gets
 * its own park promise to await. The driver decides what "resolve" means (the
 * simulation continues a declared compute burst instead).
 */
import type { Clock, CpuWords, IpiSender } from '../interfaces.js';
import type { SharedArea } from './sharedArea.js';
import type { ThreadControl } from './threadControl.js';
import { BALANCE_PERIOD_NS, CPU_RUNNING, CPU_SLEEPING, MIN_SLICE_NS, PREEMPT_PENALTY_NS, THREAD_STATE } from '../constants.js';
import { CPU_LAYOUT, SLOT_FLAG_STARTED, THREAD_SLOT_LAYOUT } from './sharedLayout.js';
import { RunQueue } from './runQueue.js';
import { TimerList } from './timerList.js';
import { drainIncoming, hasIncoming, pushIncoming } from './incoming.js';
import {
  CINITIAL,
  addPreemptPenalty,
  exportRuntime,
  hysteresisRunStart,
  hysteresisRunStop,
  ranFor,
  timeUntil,
  updateAfterSleep,
  type CpuRuntime,
} from './runtime.js';

/** Why the running thread entered the scheduler. */
export const REASON_BLOCK = 0; // its state is WAITING* (or was already woken back to RUNNING)
export const REASON_YIELD = 1; // it stays runnable but lets the queue's head run first
export const REASON_PREEMPT = 2; // preemption point: switch only if another thread deserves the CPU
export const REASON_EXIT = 3; // it terminated

const { RUNNING, QUEUED, WAKING, TERMINATED } = THREAD_STATE;
const C_LOAD = CPU_LAYOUT.LOAD.offset;
const C_PENDING = CPU_LAYOUT.PENDING.offset;
const S_STATE = THREAD_SLOT_LAYOUT.STATE.offset;
const S_CPU = THREAD_SLOT_LAYOUT.CPU.offset;
const S_FLAGS = THREAD_SLOT_LAYOUT.FLAGS.offset;
const S_CPU_TIME = THREAD_SLOT_LAYOUT.CPU_TIME.offset;

/** What a CPU needs from the scheduler of its isolate. */
export interface CpuHost {
  readonly area: SharedArea;
  readonly clock: Clock;
  readonly words: CpuWords;
  readonly ipi: IpiSender;
  /** The local record of the thread in `slot`, if this isolate has it. */
  threadAt(slot: number): ThreadControl | undefined;
  /** Makes a local record for an entry thread that arrived from another isolate; undefined (and counted as corruption) if impossible. */
  adopt(slot: number, cpu: number): ThreadControl | undefined;
  /** Does CPU `cpu` run in this isolate? */
  isLocalCpu(cpu: number): boolean;
  /** Drops the local record of a thread that moves to another isolate. */
  forget(t: ThreadControl): void;
  /** Records which thread runs now (null: the CPU's idle loop). */
  setExecuting(cpu: Cpu, t: ThreadControl | null): void;
  /** Makes CPU `target` look at its incoming lists: an IPI if it sleeps, its PREEMPT flag if it runs. */
  kick(target: number, source: number): void;
}

/** How a CPU hands itself to a thread or to its idle loop. */
export interface CpuDriver {
  /** Let `t` (now `cpu.current`, state RUNNING) continue. */
  resume(cpu: Cpu, t: ThreadControl): void;
  /** `cpu` has nothing to run. */
  idle(cpu: Cpu): void;
}

/** Counters for tests, benchmarks and debugging. Owned by the CPU. */
export interface CpuStats {
  switches: number;
  preemptions: number;
  wakeupsIn: number;
  migrationsOut: number;
  migrationsIn: number;
  /** Wake IPIs this CPU sent. */
  ipis: number;
  /** Times the idle loop went to sleep (CpuIdle.sleep). */
  sleeps: number;
}

/** The per-CPU scheduler. */
export class Cpu implements CpuRuntime {
  c = CINITIAL;
  renorm = 0;
  readonly rq = new RunQueue<ThreadControl>();
  readonly timers = new TimerList();
  /** The thread running now, null when idle. */
  current: ThreadControl | null = null;
  /** When the current interval (thread or idle) began, ns. */
  runningSince: number;
  /** When the current thread should be reconsidered, ns (OSv's preemption_timer). */
  preemptAt = Number.POSITIVE_INFINITY;
  /** When the balancer runs next, ns. */
  nextBalanceNs: number;
  /** Preemption points left before the next clock read (see Scheduler.preemptionPoint). */
  countdown = 0;
  /** Simulation: when the current compute burst (re)started, ns. */
  burstStart = 0;
  /** Resolves the idle loop's park promise. */
  idleResumeFn: (() => void) | null = null;
  /** The idle loop's current spin-poll window, ns (adaptive: internal/idleLoop.ts); -1 until the idle loop first runs. */
  pollWindowNs = -1;
  readonly stats: CpuStats = {
    switches: 0,
    preemptions: 0,
    wakeupsIn: 0,
    migrationsOut: 0,
    migrationsIn: 0,
    ipis: 0,
    sleeps: 0,
  };
  /** Index of this CPU's STATE / PREEMPT word in host.words.view. */
  readonly stateIdx: number;
  readonly preemptIdx: number;
  /** Word index of this CPU's LOAD and PENDING in the area. */
  readonly loadWord: number;
  readonly pendingWord: number;
  /** Runnable threads taken in: running + queued (published as LOAD). */
  private loadCount = 0;
  private seqNo = 0;
  private unstartedHead: ThreadControl | null = null;
  private unstartedTail: ThreadControl | null = null;
  private readonly acceptFn = (slot: number): void => this.accept(slot);
  private readonly idleExecutor = (resolve: () => void): void => {
    this.idleResumeFn = resolve;
  };

  constructor(
    readonly id: number,
    readonly host: CpuHost,
    public driver: CpuDriver,
    /** Run the load balancer? */
    readonly balancing: boolean,
  ) {
    this.stateIdx = host.words.stateIndex(id);
    this.preemptIdx = host.words.preemptIndex(id);
    this.loadWord = host.area.cpuWord(id, C_LOAD);
    this.pendingWord = host.area.cpuWord(id, C_PENDING);
    const now = host.clock.nowNs();
    this.runningSince = now;
    this.nextBalanceNs = balancing ? now + BALANCE_PERIOD_NS : Number.POSITIVE_INFINITY;
  }

  /** The earliest moment this CPU must look at its scheduler again, ns. */
  nextEventNs(): number {
    const t = this.timers.earliestKey;
    const b = this.nextBalanceNs;
    const p = this.current === null ? Number.POSITIVE_INFINITY : this.preemptAt;
    return t < b ? (t < p ? t : p) : b < p ? b : p;
  }

  /** Is there anything to run or accept? (Polled by the idle loop: a few loads.) */
  hasWork(): boolean {
    return this.rq.size > 0 || hasIncoming(this.host.area, this.id);
  }

  /**
   * The running thread `t` gives up the CPU for `reason`. Returns the promise
   * `t` must await before it continues, or undefined if `t` keeps the CPU.
   */
  switchFrom(t: ThreadControl, reason: number): Promise<void> | undefined {
    const n = this.schedule(t, reason);
    if (n === t) return undefined;
    this.dispatch(n);
    return t.park();
  }

  /** The running thread `t` terminated: hand the CPU on. */
  exitFrom(t: ThreadControl): void {
    this.dispatch(this.schedule(t, REASON_EXIT));
  }

  /** The idle CPU looks for work; true if it dispatched a thread. */
  idleStep(): boolean {
    const n = this.schedule(null, REASON_BLOCK);
    if (n === null) return false;
    this.dispatch(n);
    return true;
  }

  /** The idle loop's park: resolves when the CPU next has nothing to run. */
  parkIdle(): Promise<void> {
    return new Promise<void>(this.idleExecutor);
  }

  /** Hands the CPU to `n`, or to the idle loop when null. */
  dispatch(n: ThreadControl | null): void {
    this.host.setExecuting(this, n);
    if (n === null) this.driver.idle(this);
    else this.driver.resume(this, n);
  }

  /**
   * Decides what runs next (OSv's reschedule_from_interrupt): accepts incoming
   * wake-ups, charges the interval that just ended, fires due timers, runs the
   * balancer when due, and returns the thread that should run now: `t` itself
   * if it keeps the CPU, another thread, or null for idle.
   */
  schedule(t: ThreadControl | null, reason: number): ThreadControl | null {
    const host = this.host;
    const i32 = host.area.i32;
    const now = host.clock.nowNs();
    const view = host.words.view;
    if (view[this.preemptIdx] !== 0) Atomics.store(view, this.preemptIdx, 0);
    if (hasIncoming(host.area, this.id)) this.takeIncoming();
    this.charge(t, now);
    if (now >= this.timers.earliestKey) this.timers.expire(now);
    if (now >= this.nextBalanceNs) this.balance(now);
    let requeue = false;
    let preempted = false;
    if (t !== null) {
      // A plain read: only this CPU moves the word out of RUNNING; a stale WAITING* for WAKING takes the same path.
      const st = reason === REASON_EXIT ? TERMINATED : i32[t.stateWord];
      if (st === RUNNING) {
        const head = this.rq.peek();
        if (head === undefined) {
          this.preemptAt = Number.POSITIVE_INFINITY;
          return t;
        }
        if (reason === REASON_YIELD) {
          // OSv never yields to an idle-priority thread.
          if (head.priority === Number.POSITIVE_INFINITY && t.priority !== Number.POSITIVE_INFINITY) return t;
          requeue = true;
        } else if (this.keepsRunning(t, head)) {
          this.preemptAt = this.deadlineFor(t, head, now);
          return t;
        }
        hysteresisRunStop(this, t, this.rq);
        i32[t.stateWord] = QUEUED;
        if (!requeue) this.enqueue(t);
        preempted = true;
        this.stats.preemptions++;
      } else {
        hysteresisRunStop(this, t, this.rq);
        this.addLoad(-1);
      }
      // Published for readers on other CPUs. Not at exit: the slot may already belong to the joiner.
      if (reason !== REASON_EXIT) host.area.f64[host.area.slotWord(t.slot, S_CPU_TIME) >> 1] = t.cpuNs;
    }
    const n = this.rq.pop();
    if (requeue) this.enqueue(t!);
    if (n === undefined) {
      this.current = null;
      this.preemptAt = Number.POSITIVE_INFINITY;
      return null;
    }
    this.switchIn(n, preempted && t!.priority !== Number.POSITIVE_INFINITY, now);
    return n;
  }

  /** Charges the interval that ends now to `t` (or lets idle time pass). */
  private charge(t: ThreadControl | null, now: number): void {
    const interval = now - this.runningSince;
    this.runningSince = now;
    if (t !== null) {
      if (interval > 0) t.cpuNs += interval;
      // A zero or backward interval is charged as the penalty, as OSv does, so the clock's granularity cannot loop the scheduler.
      ranFor(this, t, interval > 0 ? interval : PREEMPT_PENALTY_NS, this.rq);
    } else if (interval > 0) {
      ranFor(this, null, interval, this.rq);
    }
  }

  private switchIn(n: ThreadControl, penalty: boolean, now: number): void {
    const i32 = this.host.area.i32;
    i32[n.stateWord] = RUNNING;
    if (!n.started) {
      n.started = true;
      this.unlistUnstarted(n);
      Atomics.or(i32, this.host.area.slotWord(n.slot, S_FLAGS), SLOT_FLAG_STARTED);
    }
    hysteresisRunStart(this, n);
    if (penalty) addPreemptPenalty(this, n, this.rq);
    const head = this.rq.peek();
    this.preemptAt = head === undefined ? Number.POSITIVE_INFINITY : this.deadlineFor(n, head, now);
    this.current = n;
    this.stats.switches++;
  }

  /** Does running `t` keep the CPU against the queue's `head`? */
  private keepsRunning(t: ThreadControl, head: ThreadControl): boolean {
    if (head.realtime !== t.realtime) return t.realtime > head.realtime;
    if (t.realtime > 0) return true; // first come, first served among equal real-time priorities
    return t.rtt < head.rtt;
  }

  private deadlineFor(t: ThreadControl, head: ThreadControl, now: number): number {
    if (t.realtime > 0 || head.realtime > 0) return Number.POSITIVE_INFINITY;
    const d = timeUntil(this, t, head.rtt);
    if (d < 0) return Number.POSITIVE_INFINITY;
    return now + (d > MIN_SLICE_NS ? d : MIN_SLICE_NS);
  }

  /** Queues `t` behind every thread that compares equal to it. */
  enqueue(t: ThreadControl): void {
    t.seq = ++this.seqNo;
    this.rq.push(t);
  }

  /**
   * A thread homed here was woken by this CPU (state WAKING): run it. If it
   * is the running thread (woken before it could park), it just keeps running.
   */
  acceptLocal(t: ThreadControl): void {
    if (t === this.current) {
      this.host.area.i32[t.stateWord] = RUNNING;
      return;
    }
    if (t.heapIndex >= 0) {
      // Already queued: its state word was forged (a corrupted area). Queuing it twice would break the run queue.
      this.host.area.noteCorrupt();
      return;
    }
    this.addLoad(1);
    this.queueWoken(t);
    const cur = this.current;
    const view = this.host.words.view;
    if (cur === null) {
      // Woken from outside any thread (a timer or host callback) while idle.
      if (Atomics.load(view, this.stateIdx) === CPU_SLEEPING) this.host.ipi.sendWake(this.id);
    } else if (this.rq.peek() === t) {
      // A new head: the running thread's slice was planned against another one.
      if (t.realtime > cur.realtime || (t.realtime === cur.realtime && t.rtt < cur.rtt)) {
        view[this.preemptIdx] = 1; // OSv's need_reschedule: at the next preemption point (a plain store: only this CPU reads it)
      } else {
        this.preemptAt = 0; // re-plan the slice at the next preemption point that reads the clock
      }
    }
  }

  /** Runnable threads here, as the balancer and placement see it. */
  loadFigure(): number {
    return this.loadCount + Atomics.load(this.host.area.i32, this.pendingWord);
  }

  private addLoad(d: number): void {
    this.loadCount += d;
    this.host.area.i32[this.loadWord] = this.loadCount;
  }

  /** Takes in everything other CPUs pushed (OSv's handle_incoming_wakeups). */
  private takeIncoming(): void {
    const area = this.host.area;
    this.stats.wakeupsIn += drainIncoming(area, this.id, this.acceptFn);
    // Pushers count PENDING before they push, so every thread just taken is included.
    this.addLoad(Atomics.exchange(area.i32, this.pendingWord, 0));
  }

  /** A thread another CPU woke for us (from an incoming list). */
  private accept(slot: number): void {
    const host = this.host;
    const area = host.area;
    const i32 = area.i32;
    if (Atomics.load(i32, area.slotWord(slot, S_STATE)) !== WAKING || Atomics.load(i32, area.slotWord(slot, S_CPU)) !== this.id) {
      area.noteCorrupt();
      return;
    }
    let t = host.threadAt(slot);
    if (t === undefined) {
      t = host.adopt(slot, this.id);
      if (t === undefined) return;
      this.stats.migrationsIn++;
    }
    t.cpuId = this.id;
    if (t === this.current) {
      i32[t.stateWord] = RUNNING;
      this.addLoad(-1); // the waker counted it again
      return;
    }
    if (t.heapIndex >= 0) {
      area.noteCorrupt(); // already queued: a forged WAKING state
      return;
    }
    this.queueWoken(t);
  }

  private queueWoken(t: ThreadControl): void {
    this.host.area.i32[t.stateWord] = QUEUED;
    updateAfterSleep(this, t);
    if (!t.started) this.listUnstarted(t);
    this.enqueue(t);
  }

  /**
   * OSv's load_balance, one round: if some CPU's load is below ours − 1, move
   * one queued, not-yet-started thread there. Started threads stay: their
   * continuation cannot leave this isolate. A closure thread can move only to
   * a CPU of this isolate (the simulation); an entry thread anywhere.
   */
  private balance(now: number): void {
    this.nextBalanceNs = now + BALANCE_PERIOD_NS;
    if (this.unstartedTail === null) return;
    const host = this.host;
    const area = host.area;
    const view = host.words.view;
    let min = -1;
    let minLoad = this.loadFigure() - 1;
    for (let c = 0; c < area.cpuCount; c++) {
      if (c === this.id || Atomics.load(view, host.words.stateIndex(c)) < CPU_RUNNING) continue;
      const l = Atomics.load(area.i32, area.cpuWord(c, C_LOAD)) + Atomics.load(area.i32, area.cpuWord(c, C_PENDING));
      if (l < minLoad) {
        minLoad = l;
        min = c;
      }
    }
    if (min < 0) return;
    const local = host.isLocalCpu(min);
    for (let t: ThreadControl | null = this.unstartedTail; t !== null; t = t.prevUnstarted) {
      if (!t.pinned && (t.entry !== 0 || local)) {
        this.migrate(t, min);
        return;
      }
    }
  }

  /** Moves queued, unstarted `t` to CPU `target` through its incoming list (the balancer, and Scheduler.pin). */
  migrate(t: ThreadControl, target: number): void {
    const host = this.host;
    const area = host.area;
    const i32 = area.i32;
    this.rq.remove(t);
    this.unlistUnstarted(t);
    exportRuntime(this, t);
    Atomics.store(i32, t.stateWord, WAKING);
    Atomics.store(i32, area.slotWord(t.slot, S_CPU), target);
    this.addLoad(-1);
    Atomics.add(i32, area.cpuWord(target, C_PENDING), 1);
    t.cpuId = target;
    if (!host.isLocalCpu(target)) host.forget(t);
    pushIncoming(area, target, this.id, t.slot);
    host.kick(target, this.id);
    this.stats.migrationsOut++;
  }

  private listUnstarted(t: ThreadControl): void {
    if (t.prevUnstarted !== null || this.unstartedHead === t) return; // already listed
    t.nextUnstarted = null;
    t.prevUnstarted = this.unstartedTail;
    if (this.unstartedTail === null) this.unstartedHead = t;
    else this.unstartedTail.nextUnstarted = t;
    this.unstartedTail = t;
  }

  private unlistUnstarted(t: ThreadControl): void {
    const p = t.prevUnstarted;
    const n = t.nextUnstarted;
    if (p === null) {
      if (this.unstartedHead !== t) return; // not listed
      this.unstartedHead = n;
    } else p.nextUnstarted = n;
    if (n === null) this.unstartedTail = p;
    else n.prevUnstarted = p;
    t.prevUnstarted = null;
    t.nextUnstarted = null;
  }
}
