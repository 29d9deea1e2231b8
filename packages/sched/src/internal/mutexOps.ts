/**
 * The cross-vCPU mutex's algorithm, shared by Mutex, CondVar (which hands a
 * signalled waiter straight to the mutex: OSv's wait morphing) and the
 * timed-wait expiry. STATE is a futex-style word: an uncontended lock and
 * unlock are one CAS each and touch nothing else; with waiters, unlock hands
 * the mutex to the first one in the FIFO (OWNER set before it is woken), so a
 * thread that keeps re-locking cannot starve the others.
 *
 * Who writes what: OWNER and DEPTH are written by the owner, or by the
 * unlocker handing off while the mutex stays locked; STATE by CAS; the FIFO
 * under LOCK.
 */
import type { SchedCore } from './core.js';
import type { SharedArea } from './sharedArea.js';
import {
  MUTEX_CONTENDED,
  MUTEX_LAYOUT,
  MUTEX_LOCKED,
  MUTEX_UNLOCKED,
  THREAD_SLOT_LAYOUT,
  WAIT_KIND_NONE,
  WAIT_RESULT_PENDING,
} from './sharedLayout.js';
import { lockQueue, queueAppend, queueEmpty, queuePop, unlockQueue } from './waitList.js';
import { THREAD_STATE } from '../constants.js';
import { NEG } from '../errors.js';
import type { ThreadControl } from './threadControl.js';

const M_STATE = MUTEX_LAYOUT.STATE.offset;
const M_OWNER = MUTEX_LAYOUT.OWNER.offset;
const M_DEPTH = MUTEX_LAYOUT.DEPTH.offset;
const S_WAIT_RESULT = THREAD_SLOT_LAYOUT.WAIT_RESULT.offset;
const S_WAIT_DEPTH = THREAD_SLOT_LAYOUT.WAIT_DEPTH.offset;

/** Tries the uncontended path for thread id `tid` (or a recursive re-lock). True if `tid` now holds it. */
export function mutexTryFast(i32: Int32Array, base: number, tid: number): boolean {
  if (Atomics.compareExchange(i32, base + M_STATE, MUTEX_UNLOCKED, MUTEX_LOCKED) === MUTEX_UNLOCKED) {
    i32[base + M_OWNER] = tid;
    i32[base + M_DEPTH] = 1;
    return true;
  }
  // Only the owner itself ever wrote its own id here, so a stale read cannot pass this test.
  if (i32[base + M_OWNER] === tid) {
    i32[base + M_DEPTH] = i32[base + M_DEPTH]! + 1;
    return true;
  }
  return false;
}

/**
 * With the FIFO lock held: takes the mutex for `tid` if it is free (returns
 * true), else marks it contended (returns false) so its unlocker will look at
 * the FIFO.
 */
function takeOrMarkContended(area: SharedArea, base: number, tid: number, depth: number): boolean {
  const i32 = area.i32;
  for (;;) {
    const s = Atomics.load(i32, base + M_STATE);
    if (s === MUTEX_UNLOCKED) {
      if (Atomics.compareExchange(i32, base + M_STATE, MUTEX_UNLOCKED, MUTEX_LOCKED) !== MUTEX_UNLOCKED) continue;
      i32[base + M_OWNER] = tid;
      i32[base + M_DEPTH] = depth;
      return true;
    }
    if (s === MUTEX_CONTENDED) return false;
    if (s !== MUTEX_LOCKED) {
      // Not a state at all (a corrupted word): count it, and queue as if contended rather than spin on it.
      area.noteCorrupt();
      Atomics.compareExchange(i32, base + M_STATE, s, MUTEX_CONTENDED);
      return false;
    }
    // Only another CPU's unlock can make this CAS fail: the loop makes progress.
    if (Atomics.compareExchange(i32, base + M_STATE, MUTEX_LOCKED, MUTEX_CONTENDED) === MUTEX_LOCKED) return false;
  }
}

/**
 * The contended lock path for the running thread `t`: queue it and park.
 * Returns undefined if it got the mutex without parking, the park promise, or
 * a negative errno (the FIFO's lock or links failed).
 */
export function mutexLockSlow(core: SchedCore, base: number, t: ThreadControl): Promise<void> | undefined | number {
  const area = core.area;
  const i32 = area.i32;
  const r = lockQueue(area, base);
  if (r < 0) return r;
  if (takeOrMarkContended(area, base, t.tid, 1)) {
    unlockQueue(area, base);
    return undefined;
  }
  // Plain stores: the FIFO lock orders them before any grantor's CAS on the state word.
  i32[area.slotWord(t.slot, S_WAIT_RESULT)] = WAIT_RESULT_PENDING;
  i32[area.slotWord(t.slot, S_WAIT_DEPTH)] = 1;
  i32[t.stateWord] = THREAD_STATE.WAITING_SYNC;
  const e = queueAppend(area, base, t.slot, WAIT_KIND_NONE);
  unlockQueue(area, base);
  if (e < 0) {
    i32[t.stateWord] = THREAD_STATE.RUNNING;
    return e;
  }
  return core.block(t);
}

/**
 * Releases one level of the mutex held by thread id `tid`; at depth 0 hands
 * it to the first waiter. Returns 0, NEG.EPERM if `tid` does not hold it, or
 * another negative errno.
 */
export function mutexUnlock(core: SchedCore, base: number, tid: number): number {
  const area = core.area;
  const i32 = area.i32;
  if (i32[base + M_OWNER] !== tid) return NEG.EPERM;
  const d = i32[base + M_DEPTH]!;
  if (d > 1) {
    i32[base + M_DEPTH] = d - 1;
    return 0;
  }
  return mutexRelease(core, base);
}

/** Releases the mutex completely (the caller checked ownership). */
export function mutexRelease(core: SchedCore, base: number): number {
  const area = core.area;
  const i32 = area.i32;
  i32[base + M_OWNER] = 0;
  i32[base + M_DEPTH] = 0;
  if (Atomics.compareExchange(i32, base + M_STATE, MUTEX_LOCKED, MUTEX_UNLOCKED) === MUTEX_LOCKED) return 0;
  const r = lockQueue(area, base);
  if (r < 0) return r;
  const w = queuePop(area, base);
  if (w > 0) {
    // Hand-off: the mutex stays locked and changes owner before the waiter is woken.
    const depth = i32[area.slotWord(w, S_WAIT_DEPTH)]!;
    i32[base + M_OWNER] = area.tidOf(w);
    i32[base + M_DEPTH] = depth > 0 ? depth : 1;
    if (queueEmpty(area, base)) Atomics.store(i32, base + M_STATE, MUTEX_LOCKED);
    unlockQueue(area, base);
    if (!core.wakeSlot(w, THREAD_STATE.WAITING_SYNC)) area.noteCorrupt();
    return 0;
  }
  Atomics.store(i32, base + M_STATE, MUTEX_UNLOCKED);
  unlockQueue(area, base);
  return w;
}

/**
 * Acquires the mutex at `base` for waiting thread `slot` (state WAITING_SYNC,
 * in no FIFO), restoring recursion `depth`: wakes it at once if the mutex is
 * free, else queues it to be handed the mutex by an unlock. Returns 0 or a
 * negative errno.
 */
export function mutexLockFor(core: SchedCore, base: number, slot: number, depth: number): number {
  const area = core.area;
  const r = lockQueue(area, base);
  if (r < 0) return r;
  if (takeOrMarkContended(area, base, area.tidOf(slot), depth)) {
    unlockQueue(area, base);
    if (!core.wakeSlot(slot, THREAD_STATE.WAITING_SYNC)) area.noteCorrupt();
    return 0;
  }
  area.i32[area.slotWord(slot, S_WAIT_DEPTH)] = depth;
  const e = queueAppend(area, base, slot, WAIT_KIND_NONE);
  unlockQueue(area, base);
  return e;
}

/** Thread id holding the mutex, 0 if none. */
export function mutexOwner(i32: Int32Array, base: number): number {
  return Atomics.load(i32, base + M_OWNER);
}

/** Recursion depth of the holder. */
export function mutexDepth(i32: Int32Array, base: number): number {
  return Atomics.load(i32, base + M_DEPTH);
}
