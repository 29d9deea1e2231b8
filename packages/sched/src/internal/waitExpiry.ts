/**
 * What happens when a timed wait runs out. Runs in scheduler context on the
 * waiter's own CPU (its timer fired). The waiter may be granted at the same
 * moment by another CPU; the FIFO lock decides: if the waiter is still in the
 * FIFO it times out, otherwise the grant won and the timer does nothing.
 */
import type { SchedCore } from './core.js';
import type { ThreadControl } from './threadControl.js';
import { SYNC_HEAD_LAYOUT, SYNC_KIND_CONDVAR, SYNC_KIND_RWLOCK, THREAD_SLOT_LAYOUT, WAIT_RESULT_TIMEDOUT } from './sharedLayout.js';
import { lockQueue, queueOf, queueRemove, unlockQueue } from './waitList.js';
import { rwGrant } from './rwLockOps.js';
import { mutexLockFor } from './mutexOps.js';
import { THREAD_STATE } from '../constants.js';

const Q_KIND = SYNC_HEAD_LAYOUT.KIND.offset;
const S_WAIT_RESULT = THREAD_SLOT_LAYOUT.WAIT_RESULT.offset;
const S_WAIT_MUTEX = THREAD_SLOT_LAYOUT.WAIT_MUTEX.offset;
const S_WAIT_DEPTH = THREAD_SLOT_LAYOUT.WAIT_DEPTH.offset;

/** Times out thread `t`'s wait in a sync object's FIFO, if it is still there. */
export function expireWait(core: SchedCore, t: ThreadControl): void {
  const area = core.area;
  const i32 = area.i32;
  const q = queueOf(area, t.slot);
  // 0: granted already, or a condvar waiter on its way to its mutex.
  if (q === 0 || !area.validSyncWord(q)) return;
  if (lockQueue(area, q) < 0) return;
  if (queueOf(area, t.slot) !== q) {
    unlockQueue(area, q);
    return;
  }
  const kind = Atomics.load(i32, q + Q_KIND);
  queueRemove(area, q, t.slot);
  Atomics.store(i32, area.slotWord(t.slot, S_WAIT_RESULT), WAIT_RESULT_TIMEDOUT);
  // A writer leaving the head may let the readers behind it in.
  if (kind === SYNC_KIND_RWLOCK) rwGrant(core, q);
  unlockQueue(area, q);
  if (kind === SYNC_KIND_CONDVAR) {
    // pthread_cond_timedwait returns holding the mutex: queue for it as a signalled waiter would.
    const m = Atomics.load(i32, area.slotWord(t.slot, S_WAIT_MUTEX));
    if (!area.validSyncWord(m) || mutexLockFor(core, m, t.slot, Atomics.load(i32, area.slotWord(t.slot, S_WAIT_DEPTH))) < 0) {
      core.wakeSlot(t.slot, THREAD_STATE.WAITING_SYNC);
    }
    return;
  }
  core.wakeSlot(t.slot, THREAD_STATE.WAITING_SYNC);
}
