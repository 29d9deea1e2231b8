/**
 * A mutex that works across vCPUs (OSv's mutex): recursive, FIFO hand-off
 * under contention so no waiter starves, state in shared memory so threads on
 * any CPU sharing the scheduler area can use it.
 */
import type { SchedCore } from './internal/core.js';
import { WAIT_SYNC } from './internal/core.js';
import { SYNC_KIND_MUTEX, THREAD_SLOT_LAYOUT, WAIT_RESULT_TIMEDOUT } from './internal/sharedLayout.js';
import { mutexDepth, mutexLockSlow, mutexOwner, mutexTryFast, mutexUnlock } from './internal/mutexOps.js';
import { check, freeSyncBlock } from './internal/syncBlock.js';
import { SchedError } from './errors.js';

const S_WAIT_RESULT = THREAD_SLOT_LAYOUT.WAIT_RESULT.offset;

/** Get one from `Scheduler.mutex()`; share it with another isolate by its `ref`. */
export class Mutex {
  /** @internal Use Scheduler.mutex(). */
  constructor(
    private readonly core: SchedCore,
    /** Names this mutex in the shared area (pass it to `Scheduler.mutex(ref)` in another isolate). */
    readonly ref: number,
  ) {}

  /**
   * Locks it. Returns undefined when it was taken at once (the common case:
   * skip the await in hot loops), else a promise that resolves once the
   * calling thread owns it. Throws SchedError EPERM outside a thread, EDEADLK
   * or EIO if a peer corrupted the mutex's shared words.
   */
  lock(): Promise<void> | undefined {
    const t = this.core.currentOrThrow('mutex lock');
    if (mutexTryFast(this.core.area.i32, this.ref, t.tid)) return undefined;
    const r = mutexLockSlow(this.core, this.ref, t);
    if (typeof r === 'number') throw SchedError.fromErrno(r, 'mutex lock');
    return r;
  }

  /** Locks it if that needs no waiting; true if the caller now holds it. Throws EPERM outside a thread. */
  tryLock(): boolean {
    return mutexTryFast(this.core.area.i32, this.ref, this.core.currentOrThrow('mutex trylock').tid);
  }

  /** Locks it, giving up after `timeoutNs`; resolves true if the caller holds it. Throws as lock(). */
  async lockTimeout(timeoutNs: number): Promise<boolean> {
    const core = this.core;
    const t = core.currentOrThrow('mutex lock');
    if (mutexTryFast(core.area.i32, this.ref, t.tid)) return true;
    const deadline = core.clock.nowNs() + timeoutNs;
    const r = mutexLockSlow(core, this.ref, t);
    if (typeof r === 'number') throw SchedError.fromErrno(r, 'mutex lock');
    if (r === undefined) return true;
    core.armWaitTimer(t, WAIT_SYNC, deadline);
    await r;
    core.cancelWaitTimer(t);
    return Atomics.load(core.area.i32, core.area.slotWord(t.slot, S_WAIT_RESULT)) !== WAIT_RESULT_TIMEDOUT;
  }

  /** Unlocks one level; hands it to the longest waiter at the last. Throws SchedError EPERM if the caller does not hold it. */
  unlock(): void {
    const t = this.core.currentOrThrow('mutex unlock');
    check(mutexUnlock(this.core, this.ref, t.tid), 'mutex unlock: the calling thread does not hold it');
  }

  /** Thread id of the holder, 0 if unlocked. */
  get owner(): number {
    return mutexOwner(this.core.area.i32, this.ref);
  }

  /** How many times the holder has locked it (0 if unlocked). */
  get depth(): number {
    return mutexDepth(this.core.area.i32, this.ref);
  }

  /** Returns its shared block to the pool. Throws SchedError EINVAL if threads wait on it. */
  destroy(): void {
    freeSyncBlock(this.core, this.ref, SYNC_KIND_MUTEX, 'mutex');
  }
}
