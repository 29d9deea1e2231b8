/**
 * A thread's life: creation and placement, start, exit, join and detach
 * (OSv's thread::start, complete, join, detach and the reaper). The JOINER word
 * in the slot settles every race between the three: exactly one of exit,
 * join and detach frees the slot.
 */
import type { Cpu } from './cpu.js';
import type { SchedCore } from './core.js';
import type { CpuWords } from '../interfaces.js';
import { ThreadControl, type ThreadBody } from './threadControl.js';
import { slotOfTid } from './sharedArea.js';
import { pushIncoming } from './incoming.js';
import {
  CPU_LAYOUT,
  JOINER_DETACHED,
  JOINER_DONE,
  JOINER_NONE,
  JOINER_REAPED,
  SLOT_FLAG_ENTRY,
  SLOT_FLAG_PINNED,
  SLOT_FLAG_STARTED,
  THREAD_SLOT_LAYOUT,
} from './sharedLayout.js';
import { CPU_RUNNING, PRIORITY_DEFAULT, THREAD_STATE } from '../constants.js';
import { SchedError } from '../errors.js';

const S = THREAD_SLOT_LAYOUT;
const C_LOAD = CPU_LAYOUT.LOAD.offset;
const C_PENDING = CPU_LAYOUT.PENDING.offset;
const { WAKING, WAITING_SYNC, RUNNING, TERMINATED } = THREAD_STATE;
const RESOLVED = Promise.resolve();
const MAX_ENTRY = 0xffff;

/** Options of spawn and spawnEntry. */
export interface SpawnOptions {
  /** Name for debugging. */
  readonly name?: string;
  /** Priority (> 0): 1 normal, 0.5 twice the CPU, PRIORITY_IDLE only when nothing else runs. */
  readonly priority?: number;
  /** Real-time priority (a positive integer; higher first): runs before every time-shared thread. */
  readonly realtime?: number;
  /** Place it on this CPU instead of the least-loaded one. */
  readonly cpu?: number;
  /** Keep the balancer from moving it. */
  readonly pinned?: boolean;
  /** Start detached: it frees itself when it finishes and cannot be joined. */
  readonly detached?: boolean;
}

/** A registered entry. */
export type EntryFn = (arg0: number, arg1: number) => unknown;

/** What the lifecycle needs of the Scheduler. */
export interface LifecycleHost extends SchedCore {
  readonly words: CpuWords;
  threadAt(slot: number): ThreadControl | undefined;
  setThread(slot: number, t: ThreadControl | undefined): void;
  isLocalCpu(cpu: number): boolean;
  localCpuObjects(): readonly Cpu[];
  runningCpu(): Cpu | null;
  kick(target: number, source: number): void;
}

/** Creates, starts, ends and reaps threads. */
export class ThreadLifecycle {
  private readonly entries = new Map<number, EntryFn>();
  private readonly report: (error: unknown, tid: number) => void;

  constructor(
    private readonly host: LifecycleHost,
    onError?: (error: unknown, tid: number) => void,
  ) {
    this.report =
      onError ??
      ((error) => {
        void Promise.reject(error);
      });
  }

  /** Registers entry `id`. Throws SchedError EINVAL for a bad id. */
  defineEntry(id: number, fn: EntryFn): void {
    if (!Number.isInteger(id) || id < 1 || id > MAX_ENTRY) throw new SchedError('EINVAL', `entry id must be in [1, ${MAX_ENTRY}], got ${id}`);
    this.entries.set(id, fn);
  }

  /** Creates and places a thread; returns its local record, or its id when it went to another isolate. */
  spawn(body: ThreadBody | null, entry: number, arg0: number, arg1: number, opts: SpawnOptions): ThreadControl | number {
    const h = this.host;
    const area = h.area;
    const i32 = area.i32;
    const priority = opts.priority ?? PRIORITY_DEFAULT;
    const realtime = opts.realtime ?? 0;
    if (!(priority > 0)) throw new SchedError('EINVAL', `priority must be > 0, got ${priority}`);
    if (!Number.isInteger(realtime) || realtime < 0) throw new SchedError('EINVAL', `realtime priority must be a non-negative integer, got ${realtime}`);
    if (entry !== 0 && !this.entries.has(entry)) throw new SchedError('EINVAL', `entry ${entry} is not defined in this isolate`);
    const here = h.hereCpu();
    const target = opts.cpu ?? this.leastLoaded(here.id, entry !== 0);
    if (!Number.isInteger(target) || target < 0 || target >= area.cpuCount) throw new SchedError('EINVAL', `no CPU ${target}`);
    if (entry === 0 && !h.isLocalCpu(target)) throw new SchedError('EINVAL', `a closure thread cannot run on CPU ${target} (another isolate); use spawnEntry`);
    const slot = area.allocSlot(here.id);
    if (slot < 0) throw new SchedError('EAGAIN', `out of thread slots (${area.threadCapacity - 1}) — create the scheduler with more threads`);
    const w = (f: { offset: number }): number => area.slotWord(slot, f.offset);
    const pinned = opts.pinned === true;
    Atomics.store(i32, w(S.FLAGS), (entry !== 0 ? SLOT_FLAG_ENTRY : 0) | (pinned ? SLOT_FLAG_PINNED : 0));
    Atomics.store(i32, w(S.ENTRY), entry);
    Atomics.store(i32, w(S.ARG0), arg0 | 0);
    Atomics.store(i32, w(S.ARG1), arg1 | 0);
    area.f32[w(S.PRIORITY)] = priority;
    Atomics.store(i32, w(S.REALTIME), realtime);
    Atomics.store(i32, w(S.EXIT_STATUS), 0);
    Atomics.store(i32, w(S.JOINER), opts.detached === true ? JOINER_DETACHED : JOINER_NONE);
    for (const f of [S.WAKE_NEXT, S.WAIT_NEXT, S.WAIT_PREV, S.WAIT_QUEUE, S.WAIT_RESULT, S.WAIT_KIND, S.WAIT_MUTEX, S.WAIT_DEPTH]) Atomics.store(i32, w(f), 0);
    area.f64[w(S.CPU_TIME) >> 1] = 0;
    Atomics.store(i32, w(S.CPU), target);
    Atomics.store(i32, w(S.STATE), WAKING);
    const tid = area.tidOf(slot);
    const name = opts.name ?? (entry !== 0 ? `entry${entry}` : `thread${slot}`);
    const b = body ?? this.entryBody(entry, arg0 | 0, arg1 | 0);
    const t = h.isLocalCpu(target) ? this.makeControl(slot, tid, target, b, priority, realtime, entry, pinned, name) : undefined;
    this.place(slot, t, target, here);
    return t ?? tid;
  }

  /** Makes the local record of entry thread `slot` that arrived on local CPU `cpu`. */
  adopt(slot: number, cpu: number): ThreadControl | undefined {
    const area = this.host.area;
    const i32 = area.i32;
    const flags = Atomics.load(i32, area.slotWord(slot, S.FLAGS.offset));
    const entry = Atomics.load(i32, area.slotWord(slot, S.ENTRY.offset));
    if ((flags & SLOT_FLAG_ENTRY) === 0 || (flags & SLOT_FLAG_STARTED) !== 0 || !this.entries.has(entry)) {
      // A started thread cannot cross isolates, and an unknown entry cannot run here.
      area.noteCorrupt();
      return undefined;
    }
    const priority = area.f32[area.slotWord(slot, S.PRIORITY.offset)]!;
    const a0 = Atomics.load(i32, area.slotWord(slot, S.ARG0.offset));
    const a1 = Atomics.load(i32, area.slotWord(slot, S.ARG1.offset));
    return this.makeControl(
      slot,
      area.tidOf(slot),
      cpu,
      this.entryBody(entry, a0, a1),
      priority > 0 ? priority : PRIORITY_DEFAULT,
      Math.max(0, Atomics.load(i32, area.slotWord(slot, S.REALTIME.offset))),
      entry,
      (flags & SLOT_FLAG_PINNED) !== 0,
      `entry${entry}`,
    );
  }

  /** See Thread.join. */
  async join(tid: number): Promise<unknown> {
    const h = this.host;
    const area = h.area;
    const i32 = area.i32;
    const me = h.currentOrThrow('join');
    const slot = area.slotIfCurrent(tid);
    if (slot === 0) throw new SchedError('ESRCH', `join: no thread ${tid}`);
    if (slot === me.slot) throw new SchedError('EDEADLK', 'join: a thread cannot join itself');
    const jw = area.slotWord(slot, S.JOINER.offset);
    Atomics.store(i32, me.stateWord, WAITING_SYNC);
    const prev = Atomics.compareExchange(i32, jw, JOINER_NONE, me.tid);
    if (prev === JOINER_NONE) {
      const p = h.block(me);
      if (p !== undefined) await p;
    } else {
      Atomics.store(i32, me.stateWord, RUNNING);
      if (prev !== JOINER_DONE || Atomics.compareExchange(i32, jw, JOINER_DONE, JOINER_REAPED) !== JOINER_DONE) {
        throw new SchedError('EINVAL', `join: thread ${tid} is ${prev === JOINER_DETACHED ? 'detached' : 'already joined'}`);
      }
    }
    return this.collect(slot, tid);
  }

  /** See Thread.detach. */
  detach(tid: number): void {
    const h = this.host;
    const area = h.area;
    const slot = area.slotIfCurrent(tid);
    if (slot === 0) throw new SchedError('ESRCH', `detach: no thread ${tid}`);
    const jw = area.slotWord(slot, S.JOINER.offset);
    const prev = Atomics.compareExchange(area.i32, jw, JOINER_NONE, JOINER_DETACHED);
    if (prev === JOINER_NONE) return;
    if (prev === JOINER_DONE && Atomics.compareExchange(area.i32, jw, JOINER_DONE, JOINER_REAPED) === JOINER_DONE) {
      const t = h.threadAt(slot);
      if (t !== undefined && t.failed) this.report(t.result, tid);
      this.free(slot);
      return;
    }
    throw new SchedError('EINVAL', `detach: thread ${tid} is already detached or joined`);
  }

  /** See Thread.cpuTimeNs. */
  cpuTimeNs(tid: number): number {
    const h = this.host;
    const area = h.area;
    const slot = area.slotIfCurrent(tid);
    if (slot === 0) throw new SchedError('ESRCH', `no thread ${tid}`);
    const t = h.threadAt(slot);
    if (t === undefined) return area.f64[area.slotWord(slot, S.CPU_TIME.offset) >> 1]!;
    if (h.executing !== t) return t.cpuNs;
    return t.cpuNs + Math.max(0, h.clock.nowNs() - h.cpuOf(t).runningSince);
  }

  /** The CPU thread `tid` is homed on. */
  cpuOfThread(tid: number): number {
    const area = this.host.area;
    const slot = area.slotIfCurrent(tid);
    if (slot === 0) throw new SchedError('ESRCH', `no thread ${tid}`);
    return Atomics.load(area.i32, area.slotWord(slot, S.CPU.offset));
  }

  private entryBody(entry: number, a0: number, a1: number): ThreadBody {
    const fn = this.entries.get(entry)!;
    return () => fn(a0, a1);
  }

  private makeControl(
    slot: number,
    tid: number,
    cpu: number,
    body: ThreadBody,
    priority: number,
    realtime: number,
    entry: number,
    pinned: boolean,
    name: string,
  ): ThreadControl {
    const area = this.host.area;
    const t = new ThreadControl(slot, tid, area.slotWord(slot, S.STATE.offset), cpu, body, priority, realtime, entry, pinned, name);
    // Starting is a resume like any other, only the first one runs the body (in a microtask, never inside the dispatcher's stack).
    t.resumeFn = () => {
      void RESOLVED.then(() => this.run(t));
    };
    this.host.setThread(slot, t);
    return t;
  }

  /** Queues new thread `slot` (state WAKING) on `target`. */
  private place(slot: number, t: ThreadControl | undefined, target: number, here: Cpu): void {
    const h = this.host;
    const running = h.runningCpu();
    if (t !== undefined && (running === null || running.id === target)) {
      // No CPU is running code here, or the target is the one running: no other CPU is involved.
      h.localCpuObjects().find((c) => c.id === target)!.acceptLocal(t);
      return;
    }
    const area = h.area;
    Atomics.add(area.i32, area.cpuWord(target, C_PENDING), 1);
    pushIncoming(area, target, here.id, slot);
    h.kick(target, here.id);
  }

  /** Least-loaded online CPU, preferring `here` on ties; `anywhere`: the whole area, else this isolate's CPUs. */
  private leastLoaded(here: number, anywhere: boolean): number {
    const h = this.host;
    const area = h.area;
    let best = here;
    const loadOf = (c: number): number => Atomics.load(area.i32, area.cpuWord(c, C_LOAD)) + Atomics.load(area.i32, area.cpuWord(c, C_PENDING));
    let bestLoad = loadOf(here);
    const consider = (c: number): void => {
      if (c === here || Atomics.load(h.words.view, h.words.stateIndex(c)) < CPU_RUNNING) return;
      const l = loadOf(c);
      if (l < bestLoad) {
        best = c;
        bestLoad = l;
      }
    };
    if (anywhere) for (let c = 0; c < area.cpuCount; c++) consider(c);
    else for (const c of h.localCpuObjects()) consider(c.id);
    return best;
  }

  private async run(t: ThreadControl): Promise<void> {
    const body = t.body!;
    t.body = null;
    let value: unknown;
    let failed = false;
    try {
      value = await body();
    } catch (e) {
      value = e;
      failed = true;
    }
    this.exit(t, value, failed);
  }

  /** OSv's thread::complete + destroy: publish, wake the joiner, hand the CPU on, free if detached. */
  private exit(t: ThreadControl, value: unknown, failed: boolean): void {
    const h = this.host;
    const area = h.area;
    const i32 = area.i32;
    const cpu = h.cpuOf(t);
    t.result = value;
    t.failed = failed;
    t.locals = null;
    if (t.timer !== null) cpu.timers.cancel(t.timer);
    area.f64[area.slotWord(t.slot, S.CPU_TIME.offset) >> 1] = t.cpuNs + Math.max(0, h.clock.nowNs() - cpu.runningSince);
    Atomics.store(i32, area.slotWord(t.slot, S.EXIT_STATUS.offset), failed ? 1 : 0);
    Atomics.store(i32, t.stateWord, TERMINATED);
    const prev = Atomics.compareExchange(i32, area.slotWord(t.slot, S.JOINER.offset), JOINER_NONE, JOINER_DONE);
    if (prev > 0) {
      const js = slotOfTid(prev);
      if (area.validSlot(js)) h.wakeSlot(js, WAITING_SYNC);
      else area.noteCorrupt();
    }
    cpu.exitFrom(t);
    if (prev === JOINER_DETACHED) {
      if (failed) this.report(value, t.tid);
      this.free(t.slot, cpu.id);
    }
  }

  private collect(slot: number, tid: number): unknown {
    const h = this.host;
    const area = h.area;
    const t = h.threadAt(slot);
    const failedElsewhere = Atomics.load(area.i32, area.slotWord(slot, S.EXIT_STATUS.offset)) === 1;
    this.free(slot);
    if (t !== undefined) {
      if (t.failed) throw t.result;
      return t.result;
    }
    if (failedElsewhere) throw new SchedError('EIO', `thread ${tid} threw in another isolate`);
    return undefined;
  }

  private free(slot: number, cpu = this.host.hereCpu().id): void {
    const t = this.host.threadAt(slot);
    if (t !== undefined && t.handle !== null) t.handle.settle(t.cpuNs);
    this.host.setThread(slot, undefined);
    this.host.area.freeSlot(cpu, slot);
  }
}
