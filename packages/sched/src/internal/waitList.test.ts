import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SharedArea } from './sharedArea.js';
import { lockQueue, queueAppend, queueOf, queuePop, queueRemove, unlockQueue } from './waitList.js';
import { SYNC_HEAD_LAYOUT, THREAD_SLOT_LAYOUT, sharedAreaWords } from './sharedLayout.js';
import { NEG } from '../errors.js';

function setup(lockLimitMs = 10): { a: SharedArea; q: number } {
  const buf = new SharedArrayBuffer(sharedAreaWords(1, 16, 4) * 4);
  const a = SharedArea.format(buf, 0, { cpuCount: 1, threadCapacity: 16, syncCapacity: 4, lockLimitMs });
  return { a, q: a.allocSync(0) };
}

describe('sync-object FIFOs', () => {
  it('keep FIFO order and let a waiter leave from the middle', () => {
    const { a, q } = setup();
    for (const s of [3, 7, 5, 9]) expect(queueAppend(a, q, s, 0)).toBe(0);
    expect(queueRemove(a, q, 5)).toBe(true);
    expect(queueRemove(a, q, 5)).toBe(false);
    expect(queueOf(a, 7)).toBe(q);
    expect([queuePop(a, q), queuePop(a, q), queuePop(a, q), queuePop(a, q)]).toEqual([3, 7, 9, 0]);
    expect(queueOf(a, 7)).toBe(0);
  });

  it('a lock word stuck by a dead or buggy peer gives EDEADLK after the limit instead of hanging', () => {
    const { a, q } = setup(5);
    expect(lockQueue(a, q)).toBe(0);
    expect(lockQueue(a, q)).toBe(NEG.EDEADLK);
    unlockQueue(a, q);
    expect(lockQueue(a, q)).toBe(0);
  });

  it('fuzz: corrupted ends and links never loop and never hand out a bad slot', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 15 }), fc.integer({ min: -3, max: 40 })), { maxLength: 30 }), (writes) => {
        const { a, q } = setup();
        for (let s = 1; s <= 6; s++) queueAppend(a, q, s, 0);
        for (const [what, slot, v] of writes) {
          const w =
            what === 0
              ? q + SYNC_HEAD_LAYOUT.HEAD.offset
              : what === 1
                ? q + SYNC_HEAD_LAYOUT.TAIL.offset
                : a.slotWord(slot, [THREAD_SLOT_LAYOUT.WAIT_NEXT, THREAD_SLOT_LAYOUT.WAIT_PREV, THREAD_SLOT_LAYOUT.WAIT_QUEUE][what - 2]!.offset);
          a.i32[w] = what === 4 && v % 3 === 0 ? q : v;
        }
        for (let i = 0; i < 40; i++) {
          const r = i % 3 === 0 ? queueAppend(a, q, 1 + (i % 15), 0) : queuePop(a, q);
          expect(r === NEG.EIO || (r >= 0 && r < 16)).toBe(true);
          if (i % 5 === 0) queueRemove(a, q, 1 + (i % 15));
        }
      }),
    );
  });
});
