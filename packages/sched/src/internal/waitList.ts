/**
 * The FIFO of waiting threads inside every synchronisation block, and the
 * lock word that guards it. The FIFO is doubly linked through the waiting
 * threads' slots (WAIT_NEXT / WAIT_PREV), so a timed-out waiter leaves in O(1)
 * and no operation walks the list: a corrupted link cannot make one loop.
 *
 * The lock is held only for a few loads and stores, never across an await,
 * so on one CPU it is never contended; across vCPUs a taker spins briefly and
 * then sleeps in Atomics.wait (Drepper's three-state futex lock). A lock word
 * that stays held past the area's limit means a peer corrupted it or died
 * holding it: the taker gives up with EDEADLK instead of hanging.
 */
import type { SharedArea } from './sharedArea.js';
import { SYNC_HEAD_LAYOUT, THREAD_SLOT_LAYOUT } from './sharedLayout.js';
import { NEG } from '../errors.js';

const Q_LOCK = SYNC_HEAD_LAYOUT.LOCK.offset;
const Q_HEAD = SYNC_HEAD_LAYOUT.HEAD.offset;
const Q_TAIL = SYNC_HEAD_LAYOUT.TAIL.offset;
const S_WAIT_NEXT = THREAD_SLOT_LAYOUT.WAIT_NEXT.offset;
const S_WAIT_PREV = THREAD_SLOT_LAYOUT.WAIT_PREV.offset;
const S_WAIT_QUEUE = THREAD_SLOT_LAYOUT.WAIT_QUEUE.offset;
const S_WAIT_KIND = THREAD_SLOT_LAYOUT.WAIT_KIND.offset;

const SPINS = 256;

// Inside the lock every access is ordered by the lock's CAS and exchange, so
// plain loads and stores suffice (and cost a fraction of an Atomics store,
// which is a full fence on x86).
function ld(i: Int32Array, w: number): number {
  return i[w]!;
}
function st(i: Int32Array, w: number, v: number): void {
  i[w] = v;
}

/** Takes the lock of the sync block at word `base`. Returns 0, or NEG.EDEADLK when it stayed held past the limit. */
export function lockQueue(area: SharedArea, base: number): number {
  if (Atomics.compareExchange(area.i32, base + Q_LOCK, 0, 1) === 0) return 0;
  return lockSlow(area.i32, base + Q_LOCK, area.lockLimitMs);
}

function lockSlow(i32: Int32Array, w: number, limitMs: number): number {
  for (let k = 0; k < SPINS; k++) {
    if (Atomics.load(i32, w) === 0 && Atomics.compareExchange(i32, w, 0, 1) === 0) return 0;
  }
  let timedOutMs = 0;
  for (;;) {
    if (Atomics.exchange(i32, w, 2) === 0) return 0;
    if (timedOutMs >= limitMs) return NEG.EDEADLK;
    // Only real timeouts count towards the limit; a notify just means "retry".
    if (Atomics.wait(i32, w, 2, 1) === 'timed-out') timedOutMs++;
  }
}

/** Releases the lock taken by lockQueue. */
export function unlockQueue(area: SharedArea, base: number): void {
  if (Atomics.exchange(area.i32, base + Q_LOCK, 0) === 2) Atomics.notify(area.i32, base + Q_LOCK, 1);
}

/** Is the FIFO of block `base` empty? (Call with the lock held.) */
export function queueEmpty(area: SharedArea, base: number): boolean {
  return ld(area.i32, base + Q_HEAD) === 0;
}

/** First waiter of block `base`, or 0. (Call with the lock held.) */
export function queueHead(area: SharedArea, base: number): number {
  return ld(area.i32, base + Q_HEAD);
}

/** Appends thread `slot`, asking for `kind`, to block `base`'s FIFO. Returns 0 or NEG.EIO. (Lock held.) */
export function queueAppend(area: SharedArea, base: number, slot: number, kind: number): number {
  const i = area.i32;
  const tail = ld(i, base + Q_TAIL);
  if (tail !== 0 && !linked(area, base, tail)) return corruptQueue(area, base);
  st(i, area.slotWord(slot, S_WAIT_NEXT), 0);
  st(i, area.slotWord(slot, S_WAIT_PREV), tail);
  st(i, area.slotWord(slot, S_WAIT_KIND), kind);
  st(i, area.slotWord(slot, S_WAIT_QUEUE), base);
  if (tail === 0) st(i, base + Q_HEAD, slot);
  else st(i, area.slotWord(tail, S_WAIT_NEXT), slot);
  st(i, base + Q_TAIL, slot);
  return 0;
}

/** Removes and returns the first waiter of block `base`: a slot, 0 if none, or NEG.EIO. (Lock held.) */
export function queuePop(area: SharedArea, base: number): number {
  const h = ld(area.i32, base + Q_HEAD);
  if (h === 0) return 0;
  if (!linked(area, base, h)) return corruptQueue(area, base);
  return unlink(area, base, h) ? h : corruptQueue(area, base);
}

/** Removes thread `slot` from block `base`'s FIFO if it is there. (Lock held.) */
export function queueRemove(area: SharedArea, base: number, slot: number): boolean {
  if (ld(area.i32, area.slotWord(slot, S_WAIT_QUEUE)) !== base) return false;
  if (!unlink(area, base, slot)) corruptQueue(area, base);
  return true;
}

/** Which block's FIFO holds thread `slot` (its first word), or 0. */
export function queueOf(area: SharedArea, slot: number): number {
  return ld(area.i32, area.slotWord(slot, S_WAIT_QUEUE));
}

/** WAIT_KIND of waiter `slot`. */
export function waitKindOf(area: SharedArea, slot: number): number {
  return ld(area.i32, area.slotWord(slot, S_WAIT_KIND));
}

function linked(area: SharedArea, base: number, slot: number): boolean {
  return area.validSlot(slot) && ld(area.i32, area.slotWord(slot, S_WAIT_QUEUE)) === base;
}

function unlink(area: SharedArea, base: number, slot: number): boolean {
  const i = area.i32;
  const next = ld(i, area.slotWord(slot, S_WAIT_NEXT));
  const prev = ld(i, area.slotWord(slot, S_WAIT_PREV));
  if ((next !== 0 && !linked(area, base, next)) || (prev !== 0 && !linked(area, base, prev))) return false;
  if (prev === 0) st(i, base + Q_HEAD, next);
  else st(i, area.slotWord(prev, S_WAIT_NEXT), next);
  if (next === 0) st(i, base + Q_TAIL, prev);
  else st(i, area.slotWord(next, S_WAIT_PREV), prev);
  st(i, area.slotWord(slot, S_WAIT_QUEUE), 0);
  st(i, area.slotWord(slot, S_WAIT_NEXT), 0);
  st(i, area.slotWord(slot, S_WAIT_PREV), 0);
  return true;
}

/** A FIFO whose links fail validation is emptied (its waiters cannot be trusted) and counted. */
function corruptQueue(area: SharedArea, base: number): number {
  area.noteCorrupt();
  st(area.i32, base + Q_HEAD, 0);
  st(area.i32, base + Q_TAIL, 0);
  return NEG.EIO;
}
