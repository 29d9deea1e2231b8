/**
 * A counting semaphore that works across vCPUs (OSv's semaphore). post()
 * hands a unit straight to the longest waiter, so waiters are served in FIFO
 * order and a thread that posts and waits in a loop cannot overtake them.
 */
import type { SchedCore } from './internal/core.js';
import { WAIT_SYNC } from './internal/core.js';
import {
  SEMAPHORE_LAYOUT,
  SYNC_KIND_SEMAPHORE,
  THREAD_SLOT_LAYOUT,
  WAIT_KIND_NONE,
  WAIT_RESULT_GRANTED,
  WAIT_RESULT_PENDING,
  WAIT_RESULT_TIMEDOUT,
} from './internal/sharedLayout.js';
import { lockQueue, queueAppend, queuePop, unlockQueue } from './internal/waitList.js';
import { check, freeSyncBlock } from './internal/syncBlock.js';
import type { ThreadControl } from './internal/threadControl.js';
import { THREAD_STATE } from './constants.js';
import { SchedError } from './errors.js';

const M_COUNT = SEMAPHORE_LAYOUT.COUNT.offset;
const S_WAIT_RESULT = THREAD_SLOT_LAYOUT.WAIT_RESULT.offset;
/** Sentinel: the unit was taken without waiting. */
const TAKEN = 1;

/** Get one from `Scheduler.semaphore()`; share it with another isolate by its `ref`. */
export class Semaphore {
  /** @internal Use Scheduler.semaphore(). */
  constructor(
    private readonly core: SchedCore,
    /** Names this semaphore in the shared area. */
    readonly ref: number,
  ) {}

  /**
   * Takes one unit. Returns undefined if one was available, else a promise
   * that resolves when a post() hands one to the caller. Throws SchedError
   * EPERM outside a thread, EDEADLK/EIO if its shared words are corrupt.
   */
  wait(): Promise<void> | undefined {
    const t = this.core.currentOrThrow('semaphore wait');
    const r = this.take(t);
    if (r === TAKEN) return undefined;
    if (typeof r === 'number') throw SchedError.fromErrno(r, 'semaphore wait');
    return r;
  }

  /** Takes one unit, giving up after `timeoutNs`; resolves true if it got one. Throws as wait(). */
  async waitTimeout(timeoutNs: number): Promise<boolean> {
    const core = this.core;
    const t = core.currentOrThrow('semaphore wait');
    const deadline = core.clock.nowNs() + timeoutNs;
    const r = this.take(t);
    if (r === TAKEN) return true;
    if (typeof r === 'number') throw SchedError.fromErrno(r, 'semaphore wait');
    core.armWaitTimer(t, WAIT_SYNC, deadline);
    if (r !== undefined) await r;
    core.cancelWaitTimer(t);
    return Atomics.load(core.area.i32, core.area.slotWord(t.slot, S_WAIT_RESULT)) !== WAIT_RESULT_TIMEDOUT;
  }

  /** Takes a unit if one is available now. */
  tryWait(): boolean {
    const area = this.core.area;
    check(lockQueue(area, this.ref), 'semaphore trywait');
    const c = area.i32[this.ref + M_COUNT]!;
    if (c > 0) area.i32[this.ref + M_COUNT] = c - 1;
    unlockQueue(area, this.ref);
    return c > 0;
  }

  /**
   * Adds `n` units (default 1), each handed to a waiter if there is one. May
   * be called from anywhere: a thread, a timer callback, a host callback.
   * Throws SchedError EINVAL for a bad `n`, EDEADLK/EIO on corruption.
   */
  post(n = 1): void {
    if (!Number.isInteger(n) || n < 0) throw new SchedError('EINVAL', `semaphore post: bad count ${n}`);
    const core = this.core;
    const area = core.area;
    check(lockQueue(area, this.ref), 'semaphore post');
    while (n > 0) {
      const w = queuePop(area, this.ref);
      if (w <= 0) break;
      area.i32[area.slotWord(w, S_WAIT_RESULT)] = WAIT_RESULT_GRANTED;
      if (!core.wakeSlot(w, THREAD_STATE.WAITING_SYNC)) area.noteCorrupt();
      n--;
    }
    if (n > 0) area.i32[this.ref + M_COUNT] = area.i32[this.ref + M_COUNT]! + n;
    unlockQueue(area, this.ref);
  }

  /** Units available now (0 while threads wait). */
  get value(): number {
    return Atomics.load(this.core.area.i32, this.ref + M_COUNT);
  }

  /** Returns its shared block to the pool. Throws SchedError EINVAL if threads wait on it. */
  destroy(): void {
    freeSyncBlock(this.core, this.ref, SYNC_KIND_SEMAPHORE, 'semaphore');
  }

  /** TAKEN, a park promise (undefined if woken before parking), or a negative errno. */
  private take(t: ThreadControl): typeof TAKEN | Promise<void> | undefined | number {
    const area = this.core.area;
    const i32 = area.i32;
    const r = lockQueue(area, this.ref);
    if (r < 0) return r;
    // Inside the FIFO lock: plain loads and stores (see waitList.ts).
    const c = i32[this.ref + M_COUNT]!;
    if (c > 0) {
      i32[this.ref + M_COUNT] = c - 1;
      unlockQueue(area, this.ref);
      return TAKEN;
    }
    i32[area.slotWord(t.slot, S_WAIT_RESULT)] = WAIT_RESULT_PENDING;
    i32[t.stateWord] = THREAD_STATE.WAITING_SYNC;
    const e = queueAppend(area, this.ref, t.slot, WAIT_KIND_NONE);
    unlockQueue(area, this.ref);
    if (e < 0) {
      i32[t.stateWord] = THREAD_STATE.RUNNING;
      return e;
    }
    return this.core.block(t);
  }
}
