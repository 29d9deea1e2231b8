/**
 * A condition variable that works across vCPUs (OSv's condvar, and its
 * waitqueue under the name WaitQueue). signal() moves a waiter straight onto
 * the mutex (OSv's "wait morphing"): the waiter is woken only once it owns the
 * mutex, so a broadcast does not wake a herd that then fights for the lock.
 */
import type { SchedCore } from './internal/core.js';
import { WAIT_SYNC } from './internal/core.js';
import type { Mutex } from './mutex.js';
import {
  SYNC_KIND_CONDVAR,
  SYNC_KIND_MUTEX,
  SYNC_HEAD_LAYOUT,
  THREAD_SLOT_LAYOUT,
  WAIT_KIND_NONE,
  WAIT_RESULT_GRANTED,
  WAIT_RESULT_PENDING,
  WAIT_RESULT_TIMEDOUT,
} from './internal/sharedLayout.js';
import { lockQueue, queueAppend, queuePop, unlockQueue } from './internal/waitList.js';
import { mutexDepth, mutexLockFor, mutexOwner, mutexRelease } from './internal/mutexOps.js';
import { check, freeSyncBlock } from './internal/syncBlock.js';
import { THREAD_STATE } from './constants.js';
import { SchedError } from './errors.js';

const S_WAIT_RESULT = THREAD_SLOT_LAYOUT.WAIT_RESULT.offset;
const S_WAIT_MUTEX = THREAD_SLOT_LAYOUT.WAIT_MUTEX.offset;
const S_WAIT_DEPTH = THREAD_SLOT_LAYOUT.WAIT_DEPTH.offset;
const Q_KIND = SYNC_HEAD_LAYOUT.KIND.offset;

/** Get one from `Scheduler.condVar()`; share it with another isolate by its `ref`. */
export class CondVar {
  /** @internal Use Scheduler.condVar(). */
  constructor(
    protected readonly core: SchedCore,
    /** Names this condition variable in the shared area. */
    readonly ref: number,
  ) {}

  /**
   * Releases `m` (which the caller must hold, at any recursion depth) and
   * waits for a signal; the promise resolves once the caller holds `m` again
   * at the same depth. Spurious wake-ups do not happen, but as with every
   * condition variable, re-check the condition in a loop: another thread may
   * have consumed it first. Throws SchedError EPERM if the caller does not
   * hold `m` or is not a thread.
   */
  wait(m: Mutex): Promise<void> | undefined {
    const core = this.core;
    const t = core.currentOrThrow('condvar wait');
    const area = core.area;
    const i32 = area.i32;
    if (mutexOwner(i32, m.ref) !== t.tid) throw new SchedError('EPERM', 'condvar wait: the calling thread does not hold the mutex');
    const depth = mutexDepth(i32, m.ref);
    check(lockQueue(area, this.ref), 'condvar wait');
    // Inside the FIFO lock: plain stores (see waitList.ts).
    i32[area.slotWord(t.slot, S_WAIT_RESULT)] = WAIT_RESULT_PENDING;
    i32[area.slotWord(t.slot, S_WAIT_MUTEX)] = m.ref;
    i32[area.slotWord(t.slot, S_WAIT_DEPTH)] = depth;
    i32[t.stateWord] = THREAD_STATE.WAITING_SYNC;
    const e = queueAppend(area, this.ref, t.slot, WAIT_KIND_NONE);
    unlockQueue(area, this.ref);
    if (e < 0) {
      i32[t.stateWord] = THREAD_STATE.RUNNING;
      check(e, 'condvar wait');
    }
    check(mutexRelease(core, m.ref), 'condvar wait: releasing the mutex');
    return core.block(t);
  }

  /** As wait(), giving up after `timeoutNs`; resolves true if signalled (false on timeout). Either way the caller holds `m` again. */
  async waitTimeout(m: Mutex, timeoutNs: number): Promise<boolean> {
    const core = this.core;
    const t = core.currentOrThrow('condvar wait');
    const deadline = core.clock.nowNs() + timeoutNs;
    const p = this.wait(m);
    core.armWaitTimer(t, WAIT_SYNC, deadline);
    if (p !== undefined) await p;
    core.cancelWaitTimer(t);
    return Atomics.load(core.area.i32, core.area.slotWord(t.slot, S_WAIT_RESULT)) !== WAIT_RESULT_TIMEDOUT;
  }

  /** Wakes the longest waiter (it resumes owning its mutex). Callable from anywhere. */
  signal(): void {
    const area = this.core.area;
    check(lockQueue(area, this.ref), 'condvar signal');
    const w = queuePop(area, this.ref);
    unlockQueue(area, this.ref);
    check(w, 'condvar signal');
    if (w > 0) this.grant(w);
  }

  /** Wakes every waiter; they get their mutex one after the other, in wait order. Callable from anywhere. */
  broadcast(): void {
    const area = this.core.area;
    for (let k = 0; k < area.threadCapacity; k++) {
      check(lockQueue(area, this.ref), 'condvar broadcast');
      const w = queuePop(area, this.ref);
      unlockQueue(area, this.ref);
      check(w, 'condvar broadcast');
      if (w === 0) return;
      this.grant(w);
    }
  }

  /** Returns its shared block to the pool. Throws SchedError EINVAL if threads wait on it. */
  destroy(): void {
    freeSyncBlock(this.core, this.ref, SYNC_KIND_CONDVAR, 'condition variable');
  }

  private grant(w: number): void {
    const core = this.core;
    const area = core.area;
    const i32 = area.i32;
    Atomics.store(i32, area.slotWord(w, S_WAIT_RESULT), WAIT_RESULT_GRANTED);
    const m = Atomics.load(i32, area.slotWord(w, S_WAIT_MUTEX));
    if (!area.validSyncWord(m) || Atomics.load(i32, m + Q_KIND) !== SYNC_KIND_MUTEX) {
      // A corrupted wait record: let the waiter run (without its mutex) rather than lose it.
      area.noteCorrupt();
      core.wakeSlot(w, THREAD_STATE.WAITING_SYNC);
      return;
    }
    check(mutexLockFor(core, m, w, Atomics.load(i32, area.slotWord(w, S_WAIT_DEPTH))), 'condvar signal');
  }
}

/**
 * OSv's waitqueue: a condition variable under the names OSv's code uses
 * (wait with a mutex held; wakeOne; wakeAll).
 */
export class WaitQueue extends CondVar {
  /** Wakes the longest waiter. */
  wakeOne(): void {
    this.signal();
  }

  /** Wakes every waiter. */
  wakeAll(): void {
    this.broadcast();
  }
}
