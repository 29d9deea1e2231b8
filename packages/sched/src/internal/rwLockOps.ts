/**
 * The readers-writer lock's hand-off rule, shared by RwLock and timed-wait
 * expiry. Waiters are served in FIFO order: when the lock becomes free, either
 * the first waiter is a writer and gets it alone, or the run of readers at the
 * head of the FIFO gets it together. A reader arriving while anyone waits
 * queues behind them, so writers are not starved.
 */
import type { SchedCore } from './core.js';
import { RWLOCK_LAYOUT, THREAD_SLOT_LAYOUT, WAIT_KIND_READ, WAIT_KIND_WRITE, WAIT_RESULT_GRANTED } from './sharedLayout.js';
import { queueHead, queuePop, waitKindOf } from './waitList.js';
import { THREAD_STATE } from '../constants.js';

const R_READERS = RWLOCK_LAYOUT.READERS.offset;
const R_WRITER = RWLOCK_LAYOUT.WRITER.offset;
const S_WAIT_RESULT = THREAD_SLOT_LAYOUT.WAIT_RESULT.offset;

/** With the FIFO lock held and no writer: grants the lock to whoever is first in line. */
export function rwGrant(core: SchedCore, base: number): void {
  const area = core.area;
  const i32 = area.i32;
  if (i32[base + R_WRITER] !== 0) return;
  for (let k = 0; k < area.threadCapacity; k++) {
    const h = queueHead(area, base);
    if (h === 0) return;
    const kind = waitKindOf(area, h);
    if (kind === WAIT_KIND_WRITE) {
      if (i32[base + R_READERS] !== 0) return;
      grantOne(core, base, area.tidOf(h), true);
      return;
    }
    if (kind !== WAIT_KIND_READ) area.noteCorrupt();
    grantOne(core, base, 0, false);
  }
}

function grantOne(core: SchedCore, base: number, writerTid: number, writer: boolean): void {
  const area = core.area;
  const i32 = area.i32;
  const w = queuePop(area, base);
  if (w <= 0) return;
  // Inside the FIFO lock: plain stores (see waitList.ts).
  if (writer) i32[base + R_WRITER] = writerTid;
  else i32[base + R_READERS] = i32[base + R_READERS]! + 1;
  i32[area.slotWord(w, S_WAIT_RESULT)] = WAIT_RESULT_GRANTED;
  if (!core.wakeSlot(w, THREAD_STATE.WAITING_SYNC)) area.noteCorrupt();
}
