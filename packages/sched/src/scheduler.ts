/**
 * The scheduler of one isolate: the CPUs that run here (one per worker or
 * vCPU, one in a plain Node process, N in the simulation), the threads homed
 * on them, and the calls threads make (spawn, yield, sleep, join, the
 * preemption point, and the factories of the synchronisation objects). Every
 * isolate sharing one scheduler area runs its own Scheduler over it;
 * `Scheduler.create` formats the area, `Scheduler.attach` joins it.
 */
import type { Clock, CpuIdle, CpuWords, IpiSender } from './interfaces.js';
import { AtomicsIdle } from './atomicsIdle.js';
import { Cpu, REASON_BLOCK, REASON_PREEMPT, REASON_YIELD, type CpuDriver, type CpuHost, type CpuStats } from './internal/cpu.js';
import { SharedArea } from './internal/sharedArea.js';
import {
  CPU_LAYOUT,
  HEADER_LAYOUT,
  THREAD_SLOT_LAYOUT,
  SYNC_KIND_CONDVAR,
  SYNC_KIND_MUTEX,
  SYNC_KIND_RWLOCK,
  SYNC_KIND_SEMAPHORE,
  SEMAPHORE_LAYOUT,
  SLOT_FLAG_PINNED,
  sharedAreaWords,
} from './internal/sharedLayout.js';
import { ThreadControl, type ThreadBody } from './internal/threadControl.js';
import { TimerEntry } from './internal/timerList.js';
import { pushIncoming } from './internal/incoming.js';
import { runIdleLoop } from './internal/idleLoop.js';
import { expireWait } from './internal/waitExpiry.js';
import { WAIT_NONE, WAIT_SLEEP, WAIT_SYNC, type SchedCore } from './internal/core.js';
import { allocSyncBlock, checkSyncBlock } from './internal/syncBlock.js';
import { ThreadLifecycle, type SpawnOptions } from './internal/lifecycle.js';
import { CPU_RUNNING, CPU_SLEEPING, THREAD_STATE } from './constants.js';
import { SchedError } from './errors.js';
import { Mutex } from './mutex.js';
import { Semaphore } from './semaphore.js';
import { CondVar, WaitQueue } from './condVar.js';
import { RwLock } from './rwLock.js';
import { Timer } from './timer.js';
import { ThreadLocal } from './threadLocal.js';
import { Thread, type ThreadOps } from './thread.js';

export type { SpawnOptions } from './internal/lifecycle.js';

const C_STATE = CPU_LAYOUT.STATE.offset;
const C_PREEMPT = CPU_LAYOUT.PREEMPT.offset;
const C_WAKE = CPU_LAYOUT.WAKE.offset;
const C_LOAD = CPU_LAYOUT.LOAD.offset;
const C_PENDING = CPU_LAYOUT.PENDING.offset;
const H_STOP = HEADER_LAYOUT.STOP.offset;
const S_STATE = THREAD_SLOT_LAYOUT.STATE.offset;
const S_CPU = THREAD_SLOT_LAYOUT.CPU.offset;
const S_PRIORITY = THREAD_SLOT_LAYOUT.PRIORITY.offset;
const S_FLAGS = THREAD_SLOT_LAYOUT.FLAGS.offset;
const { WAITING, WAITING_SYNC, WAKING, RUNNING } = THREAD_STATE;
const DEFAULT_CHECK_EVERY = 32;

/** How a Scheduler talks to its host (see interfaces.ts). */
export interface SchedulerOptions {
  /** Monotonic clock shared by every CPU of the area. */
  readonly clock: Clock;
  /** How idle CPUs wait (runCpu). Default: an AtomicsIdle on the area's WAKE words. */
  readonly idle?: CpuIdle;
  /** How to wake a sleeping CPU. Default: the same AtomicsIdle. */
  readonly ipi?: IpiSender;
  /** Where CPU state and preemption words live. Default: the area's CPU blocks. */
  readonly words?: CpuWords;
  /** Run the load balancer (default true). */
  readonly balance?: boolean;
  /** Preemption points between clock reads when no PREEMPT flag is raised (default 32). */
  readonly preemptCheckEvery?: number;
  /** Called with what a detached thread threw. Default: rethrown as an unhandled promise rejection. */
  readonly onThreadError?: (error: unknown, tid: number) => void;
}

/** Options of Scheduler.create: a new area's sizes plus how this isolate runs it. */
export interface CreateOptions extends SchedulerOptions, AreaOptions {
  /** CPUs this isolate runs (default: all of them). */
  readonly localCpus?: readonly number[];
}

/** Options of Scheduler.createArea: the sizes and placement of a new area. */
export interface AreaOptions {
  /** CPUs sharing the area (1..64). */
  readonly cpus: number;
  /** Thread slots (default 4096). */
  readonly threads?: number;
  /** Synchronisation blocks (default 4096). */
  readonly syncObjects?: number;
  /** Where to put it (default: a new SharedArrayBuffer of exactly its size); must be zero there. */
  readonly buffer?: SharedArrayBuffer;
  /** Byte offset in `buffer`, a multiple of 64 (default 0). */
  readonly byteOffset?: number;
  /** How long a wait-queue lock may stay held before EDEADLK, ms (default 2000). */
  readonly lockLimitMs?: number;
}

/** Options of Scheduler.attach. */
export interface AttachOptions extends SchedulerOptions {
  /** The buffer holding an area another isolate created. */
  readonly buffer: SharedArrayBuffer;
  /** Its byte offset (default 0). */
  readonly byteOffset?: number;
  /** CPUs this isolate runs. */
  readonly localCpus: readonly number[];
}

/** Per-CPU counters. */
export interface SchedStats extends CpuStats {
  /** Runnable threads homed on the CPU (LOAD word). */
  load: number;
  /** Queued threads. */
  queued: number;
  /** The idle loop's current spin-poll window, ns (adaptive when the CpuIdle sets maxPollNs). */
  pollWindowNs: number;
}

/** Bytes a scheduler area with these sizes occupies (for reserving it in guest memory). */
export function schedulerAreaBytes(cpus: number, threads = 4096, syncObjects = 4096): number {
  return sharedAreaWords(cpus, threads, syncObjects) * 4;
}

/** A registered thread entry: what a migratable thread runs. */
export type EntryFunction = (arg0: number, arg1: number) => unknown;

function formatArea(opts: AreaOptions): SharedArea {
  const threads = opts.threads ?? 4096;
  const sync = opts.syncObjects ?? 4096;
  const byteOffset = opts.byteOffset ?? 0;
  const buffer = opts.buffer ?? new SharedArrayBuffer(byteOffset + sharedAreaWords(opts.cpus, threads, sync) * 4);
  return SharedArea.format(buffer, byteOffset, {
    cpuCount: opts.cpus,
    threadCapacity: threads,
    syncCapacity: sync,
    lockLimitMs: opts.lockLimitMs ?? 2000,
  });
}

const REAL_DRIVER: CpuDriver = {
  resume(cpu, t) {
    const r = t.resumeFn;
    t.resumeFn = null;
    // A thread with no continuation to resume was queued twice (a forged state word): count it.
    if (r !== null) r();
    else cpu.host.area.noteCorrupt();
  },
  idle(cpu) {
    const r = cpu.idleResumeFn;
    cpu.idleResumeFn = null;
    if (r !== null) r();
  },
};

/** The scheduler of one isolate. */
export class Scheduler implements CpuHost, SchedCore, ThreadOps {
  /** @internal */ readonly area: SharedArea;
  /** The clock every CPU of the area uses. */
  readonly clock: Clock;
  /** @internal */ readonly words: CpuWords;
  /** @internal */ readonly ipi: IpiSender;
  /** @internal */ executing: ThreadControl | null = null;
  /** @internal Told about every kick (the simulation re-plans the kicked CPU). */
  onKick: ((target: number) => void) | null = null;
  private execCpu: Cpu | null = null;
  private readonly idleImpl: CpuIdle;
  private readonly cpus: (Cpu | undefined)[] = [];
  private readonly local: Cpu[] = [];
  private readonly threads: (ThreadControl | undefined)[] = [];
  private readonly life: ThreadLifecycle;
  private readonly checkEvery: number;
  private localKeys = 0;

  private constructor(area: SharedArea, localCpus: readonly number[], opts: SchedulerOptions) {
    this.area = area;
    this.clock = opts.clock;
    this.words = opts.words ?? {
      view: area.i32,
      stateIndex: (c) => area.cpuWord(c, C_STATE),
      preemptIndex: (c) => area.cpuWord(c, C_PREEMPT),
    };
    const atomics = new AtomicsIdle({ view: area.i32, wakeIndex: (c) => area.cpuWord(c, C_WAKE) }, opts.clock);
    this.idleImpl = opts.idle ?? atomics;
    this.ipi = opts.ipi ?? atomics;
    this.checkEvery = Math.max(1, opts.preemptCheckEvery ?? DEFAULT_CHECK_EVERY);
    if (localCpus.length === 0) throw new SchedError('EINVAL', 'a scheduler needs at least one local CPU');
    for (const id of localCpus) {
      if (!Number.isInteger(id) || id < 0 || id >= area.cpuCount || this.cpus[id] !== undefined) {
        throw new SchedError('EINVAL', `bad local CPU ${id} (the area has ${area.cpuCount})`);
      }
      const cpu = new Cpu(id, this, REAL_DRIVER, opts.balance ?? true);
      cpu.countdown = this.checkEvery;
      this.cpus[id] = cpu;
      this.local.push(cpu);
      if (Atomics.load(this.words.view, cpu.stateIdx) < CPU_RUNNING) Atomics.store(this.words.view, cpu.stateIdx, CPU_RUNNING);
    }
    this.life = new ThreadLifecycle(this, opts.onThreadError);
  }

  /**
   * Formats a new scheduler area and returns the scheduler of this isolate
   * over it. Throws SchedError EINVAL on bad sizes or a buffer too small.
   */
  static create(opts: CreateOptions): Scheduler {
    const area = formatArea(opts);
    const localCpus = opts.localCpus ?? Array.from({ length: opts.cpus }, (_, i) => i);
    return new Scheduler(area, localCpus, opts);
  }

  /**
   * Formats a new area without running any CPU of it here (a parent that
   * hands the area to workers, or a kernel reserving it before its vCPUs
   * attach). Returns where it is. Throws SchedError EINVAL on bad sizes.
   */
  static createArea(opts: AreaOptions): { buffer: SharedArrayBuffer; byteOffset: number } {
    const area = formatArea(opts);
    return { buffer: area.buffer, byteOffset: area.byteOffset };
  }

  /** Joins an area another isolate created. Throws SchedError EINVAL if there is none at the offset. */
  static attach(opts: AttachOptions): Scheduler {
    return new Scheduler(SharedArea.open(opts.buffer, opts.byteOffset ?? 0), opts.localCpus, opts);
  }

  /** The buffer holding the area (hand it, with byteOffset, to other isolates). */
  get buffer(): SharedArrayBuffer {
    return this.area.buffer;
  }

  /** The area's byte offset in `buffer`. */
  get byteOffset(): number {
    return this.area.byteOffset;
  }

  /** CPUs sharing the area. */
  get cpuCount(): number {
    return this.area.cpuCount;
  }

  /** Ids of the CPUs this isolate runs. */
  get localCpuIds(): number[] {
    return this.local.map((c) => c.id);
  }

  /** Now, on the scheduler's clock, ns. */
  nowNs(): number {
    return this.clock.nowNs();
  }

  // ---- threads ----------------------------------------------------------

  /**
   * Creates a thread running `body` (usually an async function) and queues it
   * on the least-loaded CPU of this isolate (or `opts.cpu`). A closure thread
   * can never leave this isolate; use spawnEntry for threads other isolates
   * may run. Throws SchedError EAGAIN when out of thread slots, EINVAL on bad
   * options.
   */
  spawn(body: ThreadBody, opts: SpawnOptions = {}): Thread {
    const t = this.life.spawn(body, 0, 0, 0, opts);
    return this.handleOf(t as ThreadControl);
  }

  /**
   * Registers entry `id` (1..65535) for spawnEntry. Every isolate of the area
   * must register the same function under the same id before threads of it
   * can run there.
   */
  defineEntry(id: number, fn: EntryFunction): void {
    this.life.defineEntry(id, fn);
  }

  /**
   * Creates a thread that runs registered entry `entry` with two integer
   * arguments, placed on the least-loaded CPU of the whole area (or
   * `opts.cpu`); the balancer may later move it to another isolate's CPU
   * until it starts. Returns its thread id. Throws as spawn(), and EINVAL for
   * an unknown entry.
   */
  spawnEntry(entry: number, arg0 = 0, arg1 = 0, opts: SpawnOptions = {}): number {
    const t = this.life.spawn(null, entry, arg0, arg1, opts);
    return typeof t === 'number' ? t : t.tid;
  }

  /** The running thread's handle, or null outside threads. */
  current(): Thread | null {
    return this.executing === null ? null : this.handleOf(this.executing);
  }

  /** The handle of local thread `tid`, or null if it is not homed in this isolate. */
  thread(tid: number): Thread | null {
    const slot = this.area.slotIfCurrent(tid);
    const t = slot === 0 ? undefined : this.threads[slot];
    return t === undefined ? null : this.handleOf(t);
  }

  /** Waits for thread `tid` to finish; see Thread.join. */
  join(tid: number): Promise<unknown> {
    return this.life.join(tid);
  }

  /** Detaches thread `tid`; see Thread.detach. */
  detach(tid: number): void {
    this.life.detach(tid);
  }

  /** CPU time thread `tid` consumed, ns. Throws SchedError ESRCH for a stale id. */
  cpuTimeNs(tid: number): number {
    return this.life.cpuTimeNs(tid);
  }

  /** Priority of local thread `tid`. */
  priorityOf(tid: number): number {
    return this.localThread(tid).priority;
  }

  /** Sets the priority of local thread `tid` (> 0; PRIORITY_IDLE for idle). Takes effect on time it runs from now on. */
  setPriority(tid: number, priority: number): void {
    if (!(priority > 0)) throw new SchedError('EINVAL', `priority must be > 0, got ${priority}`);
    const t = this.localThread(tid);
    t.priority = priority;
    this.area.f32[this.area.slotWord(t.slot, S_PRIORITY)] = priority;
  }

  /**
   * Pins local thread `tid` to CPU `cpu` (OSv's thread::pin): the balancer
   * leaves it there. A thread that has not started is moved first; one that
   * has started can only be pinned where it is. Throws SchedError ENOTSUP
   * when the move is impossible in JavaScript (a started thread, or a closure
   * thread asked to leave this isolate), ESRCH for a thread not homed here.
   */
  pin(tid: number, cpu: number): void {
    const t = this.localThread(tid);
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.area.cpuCount) throw new SchedError('EINVAL', `no CPU ${cpu}`);
    if (t.cpuId !== cpu) {
      if (t.started || t.heapIndex < 0) {
        throw new SchedError('ENOTSUP', `thread ${tid} has started on CPU ${t.cpuId}: a suspended async function cannot move to another CPU's isolate`);
      }
      if (t.entry === 0 && !this.isLocalCpu(cpu)) {
        throw new SchedError('ENOTSUP', `closure thread ${tid} cannot leave this isolate for CPU ${cpu}; spawn it with spawnEntry`);
      }
      this.cpus[t.cpuId]!.migrate(t, cpu);
    }
    t.pinned = true;
    Atomics.or(this.area.i32, this.area.slotWord(t.slot, S_FLAGS), SLOT_FLAG_PINNED);
  }

  /** The CPU thread `tid` is homed on. */
  cpuOfThread(tid: number): number {
    return this.life.cpuOfThread(tid);
  }

  /**
   * Lets the head of the run queue run before the caller continues (OSv's
   * yield). Undefined when there is nothing else to run. Outside a thread: undefined.
   */
  yield(): Promise<void> | undefined {
    const t = this.executing;
    if (t === null) return undefined;
    return this.cpuOf(t).switchFrom(t, REASON_YIELD);
  }

  /**
   * The preemption point long-running code calls: a load of the CPU's PREEMPT
   * word (raised by the hv's time-slice timer and by remote wakers), and every
   * preemptCheckEvery calls a clock read against the CPU's next deadline.
   * Returns undefined to go on (write `const p = s.preemptionPoint(); if (p) await p;`
   * in hot loops), or a promise when another thread should run first.
   */
  preemptionPoint(): Promise<void> | undefined {
    const t = this.executing;
    if (t === null) return undefined;
    const cpu = this.cpus[t.cpuId]!;
    if (Atomics.load(this.words.view, cpu.preemptIdx) === 0) {
      if (--cpu.countdown > 0) return undefined;
      cpu.countdown = this.checkEvery;
      if (this.clock.nowNs() < cpu.nextEventNs()) return undefined;
    }
    return cpu.switchFrom(t, REASON_PREEMPT);
  }

  /** Sleeps for `ns` nanoseconds. Throws SchedError EPERM outside a thread. */
  sleep(ns: number): Promise<void> | undefined {
    return this.sleepUntil(this.clock.nowNs() + ns);
  }

  /** Sleeps until `deadlineNs` on the scheduler's clock. Throws SchedError EPERM outside a thread. */
  sleepUntil(deadlineNs: number): Promise<void> | undefined {
    const t = this.currentOrThrow('sleep');
    if (!(deadlineNs > this.clock.nowNs())) return undefined;
    Atomics.store(this.area.i32, t.stateWord, WAITING_SYNC);
    this.armWaitTimer(t, WAIT_SLEEP, deadlineNs);
    return this.block(t);
  }

  /**
   * OSv's wait_until: blocks the running thread until `pred()` is true,
   * re-checking it each time the thread is woken with wake(). Wake-ups may be
   * spurious; the predicate decides.
   */
  async waitUntil(pred: () => boolean): Promise<void> {
    const t = this.currentOrThrow('waitUntil');
    const i32 = this.area.i32;
    for (;;) {
      Atomics.store(i32, t.stateWord, WAITING);
      if (pred()) {
        // A waker may have moved us to WAKING meanwhile; then the wake-up must be consumed by parking.
        if (Atomics.compareExchange(i32, t.stateWord, WAITING, RUNNING) === WAITING) return;
        const p = this.block(t);
        if (p !== undefined) await p;
        return;
      }
      const p = this.block(t);
      if (p !== undefined) await p;
    }
  }

  /** Wakes thread `tid` if it is in waitUntil; true if it was. Callable from anywhere. */
  wake(tid: number): boolean {
    const slot = this.area.slotIfCurrent(tid);
    return slot !== 0 && this.wakeSlot(slot, WAITING);
  }

  /**
   * Waits for a host promise without holding the CPU (awaiting it directly
   * would keep this CPU's other threads from running until it settles). Needs
   * an idle that lets the host event loop run (AsyncIdle); with a blocking
   * Atomics idle the promise cannot settle while the CPU sleeps.
   */
  async hostAwait<T>(p: PromiseLike<T>): Promise<T> {
    const t = this.currentOrThrow('hostAwait');
    Atomics.store(this.area.i32, t.stateWord, WAITING_SYNC);
    const settle = (v: unknown, failed: boolean): void => {
      t.hostValue = v;
      t.hostFailed = failed;
      this.wakeSlot(t.slot, WAITING_SYNC);
    };
    p.then(
      (v) => settle(v, false),
      (e: unknown) => settle(e, true),
    );
    const b = this.block(t);
    if (b !== undefined) await b;
    const v = t.hostValue;
    t.hostValue = undefined;
    if (t.hostFailed) throw v;
    return v as T;
  }

  // ---- synchronisation objects -------------------------------------------

  /** A new cross-vCPU mutex, or (with `ref`) the one another isolate created. Throws SchedError EAGAIN/EINVAL. */
  mutex(ref?: number): Mutex {
    return new Mutex(this, this.syncRef(ref, SYNC_KIND_MUTEX, 'mutex'));
  }

  /** A new semaphore holding `initial` units, or (with `ref`) an existing one. Throws SchedError EAGAIN/EINVAL. */
  semaphore(initial = 0, ref?: number): Semaphore {
    if (!Number.isInteger(initial) || initial < 0) throw new SchedError('EINVAL', `semaphore initial count must be a non-negative integer, got ${initial}`);
    const r = this.syncRef(ref, SYNC_KIND_SEMAPHORE, 'semaphore');
    if (ref === undefined) Atomics.store(this.area.i32, r + SEMAPHORE_LAYOUT.COUNT.offset, initial);
    return new Semaphore(this, r);
  }

  /** A new condition variable, or (with `ref`) an existing one. */
  condVar(ref?: number): CondVar {
    return new CondVar(this, this.syncRef(ref, SYNC_KIND_CONDVAR, 'condition variable'));
  }

  /** A new wait queue (OSv's waitqueue), or (with `ref`) an existing one. */
  waitQueue(ref?: number): WaitQueue {
    return new WaitQueue(this, this.syncRef(ref, SYNC_KIND_CONDVAR, 'wait queue'));
  }

  /** A new readers-writer lock, or (with `ref`) an existing one. */
  rwLock(ref?: number): RwLock {
    return new RwLock(this, this.syncRef(ref, SYNC_KIND_RWLOCK, 'rwlock'));
  }

  /** A timer on `cpu` (default: the CPU running now) whose callback runs in scheduler context there. */
  timer(callback: () => void, cpu?: number): Timer {
    return new Timer(this, cpu === undefined ? this.hereCpu() : this.localCpu(cpu), callback);
  }

  /** A thread-local value, made per thread by `init` on first get(). */
  threadLocal<T>(init: () => T): ThreadLocal<T> {
    return new ThreadLocal<T>(this, init);
  }

  private syncRef(ref: number | undefined, kind: number, what: string): number {
    return ref === undefined ? allocSyncBlock(this, kind, what) : checkSyncBlock(this, ref, kind, what);
  }

  // ---- running ------------------------------------------------------------

  /**
   * Runs local CPU `cpu`'s idle loop (OSv's idle thread) on a real clock:
   * dispatches runnable threads, polls, sleeps through the CpuIdle. Resolves
   * once stop() was called and the CPU has nothing to run.
   */
  runCpu(cpu: number = this.local[0]!.id): Promise<void> {
    return runIdleLoop(this.localCpu(cpu), this.idleImpl, H_STOP);
  }

  /** Makes every CPU of the area leave runCpu at its next idle moment. */
  stop(): void {
    Atomics.store(this.area.i32, H_STOP, 1);
    for (let c = 0; c < this.area.cpuCount; c++) {
      if (Atomics.load(this.words.view, this.words.stateIndex(c)) === CPU_SLEEPING) this.ipi.sendWake(c);
    }
  }

  /** Has stop() been called (by any isolate)? */
  get stopped(): boolean {
    return Atomics.load(this.area.i32, H_STOP) !== 0;
  }

  /** Counters of local CPU `cpu`. */
  stats(cpu: number): SchedStats {
    const c = this.localCpu(cpu);
    return { ...c.stats, load: this.load(cpu), queued: c.rq.size, pollWindowNs: Math.max(0, c.pollWindowNs) };
  }

  /** The load figure the balancer reads for any CPU of the area: runnable threads homed there (LOAD + PENDING). */
  load(cpu: number): number {
    const i32 = this.area.i32;
    return Atomics.load(i32, this.area.cpuWord(cpu, C_LOAD)) + Atomics.load(i32, this.area.cpuWord(cpu, C_PENDING));
  }

  /** How many invalid values were found in shared memory so far (0 unless a peer corrupted it). */
  corruptCount(): number {
    return this.area.corruptCount();
  }

  /** @internal The local CPU object (the simulation drives it). */
  cpuObject(cpu: number): Cpu {
    return this.localCpu(cpu);
  }

  /** @internal Local CPUs. */
  localCpuObjects(): readonly Cpu[] {
    return this.local;
  }

  // ---- CpuHost / SchedCore (package-internal) ------------------------------

  /** @internal */
  threadAt(slot: number): ThreadControl | undefined {
    return this.threads[slot];
  }

  /** @internal */
  setThread(slot: number, t: ThreadControl | undefined): void {
    this.threads[slot] = t;
  }

  /** @internal */
  adopt(slot: number, cpu: number): ThreadControl | undefined {
    return this.life.adopt(slot, cpu);
  }

  /** @internal */
  isLocalCpu(cpu: number): boolean {
    return this.cpus[cpu] !== undefined;
  }

  /** @internal */
  forget(t: ThreadControl): void {
    if (this.threads[t.slot] === t) this.threads[t.slot] = undefined;
  }

  /** @internal */
  setExecuting(cpu: Cpu, t: ThreadControl | null): void {
    this.executing = t;
    this.execCpu = cpu;
  }

  /** @internal */
  kick(target: number, _source: number): void {
    if (this.onKick !== null) this.onKick(target);
    const w = this.words;
    const st = Atomics.load(w.view, w.stateIndex(target));
    if (st === CPU_SLEEPING) {
      this.ipi.sendWake(target);
      this.hereCpu().stats.ipis++;
    } else if (st === CPU_RUNNING) Atomics.store(w.view, w.preemptIndex(target), 1);
  }

  /** @internal */
  currentOrThrow(op: string): ThreadControl {
    const t = this.executing;
    if (t === null) throw new SchedError('EPERM', `${op}: only a green thread can do this`);
    return t;
  }

  /** @internal */
  cpuOf(t: ThreadControl): Cpu {
    return this.cpus[t.cpuId]!;
  }

  /** @internal The CPU whose code runs now (a thread or its idle loop), null outside both. */
  runningCpu(): Cpu | null {
    return this.execCpu;
  }

  /** @internal */
  hereCpu(): Cpu {
    return this.execCpu ?? this.local[0]!;
  }

  /** @internal */
  localCpu(cpu: number): Cpu {
    const c = this.cpus[cpu];
    if (c === undefined) throw new SchedError('EINVAL', `CPU ${cpu} does not run in this isolate`);
    return c;
  }

  /** @internal */
  block(t: ThreadControl): Promise<void> | undefined {
    return this.cpus[t.cpuId]!.switchFrom(t, REASON_BLOCK);
  }

  /**
   * @internal Moves thread `slot` from state `from` to WAKING and gets it to
   * its CPU: straight into the run queue when that CPU is the one running
   * this code (or this isolate is outside any thread), else through the
   * target's incoming list and a kick (OSv's wake_impl).
   */
  wakeSlot(slot: number, from: number): boolean {
    const area = this.area;
    const i32 = area.i32;
    if (Atomics.compareExchange(i32, area.slotWord(slot, S_STATE), from, WAKING) !== from) return false;
    const target = Atomics.load(i32, area.slotWord(slot, S_CPU));
    const src = this.execCpu;
    if (src === null || src.id === target) {
      const cpu = this.cpus[target];
      const t = this.threads[slot];
      if (cpu !== undefined && t !== undefined && (src === null || src === cpu)) {
        cpu.acceptLocal(t);
        return true;
      }
    }
    if (!(target >= 0 && target < area.cpuCount)) {
      area.noteCorrupt();
      return false;
    }
    const source = (src ?? this.local[0]!).id;
    Atomics.add(i32, area.cpuWord(target, C_PENDING), 1);
    pushIncoming(area, target, source, slot);
    this.kick(target, source);
    return true;
  }

  /** @internal */
  armWaitTimer(t: ThreadControl, kind: number, deadlineNs: number): void {
    t.timerKind = kind;
    const e = (t.timer ??= new TimerEntry(() => this.threadTimerFired(t)));
    this.cpus[t.cpuId]!.timers.arm(e, deadlineNs);
  }

  /** @internal */
  cancelWaitTimer(t: ThreadControl): void {
    if (t.timer !== null) this.cpus[t.cpuId]!.timers.cancel(t.timer);
    t.timerKind = WAIT_NONE;
  }

  /** @internal */
  nextLocalKey(): number {
    return this.localKeys++;
  }

  private threadTimerFired(t: ThreadControl): void {
    const kind = t.timerKind;
    t.timerKind = WAIT_NONE;
    if (kind === WAIT_SLEEP) this.wakeSlot(t.slot, WAITING_SYNC);
    else if (kind === WAIT_SYNC) expireWait(this, t);
  }

  private localThread(tid: number): ThreadControl {
    const slot = this.area.slotIfCurrent(tid);
    const t = slot === 0 ? undefined : this.threads[slot];
    if (t === undefined) throw new SchedError('ESRCH', `thread ${tid} is not a live thread of this isolate`);
    return t;
  }

  private handleOf(t: ThreadControl): Thread {
    return (t.handle ??= new Thread(this, t.tid, t.name));
  }
}
