import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SharedArea } from './sharedArea.js';
import { drainIncoming, hasIncoming, pushIncoming } from './incoming.js';
import { CPU_LAYOUT, THREAD_SLOT_LAYOUT, sharedAreaWords } from './sharedLayout.js';

function area(cpus: number, threads: number): SharedArea {
  const buf = new SharedArrayBuffer(sharedAreaWords(cpus, threads, 1) * 4);
  return SharedArea.format(buf, 0, { cpuCount: cpus, threadCapacity: threads, syncCapacity: 1, lockLimitMs: 10 });
}

describe('incoming wake-up lists', () => {
  it('deliver each push once, in push order per source, and flag sources in the mask', () => {
    const a = area(40, 64);
    expect(hasIncoming(a, 3)).toBe(false);
    pushIncoming(a, 3, 0, 5);
    pushIncoming(a, 3, 35, 9);
    pushIncoming(a, 3, 0, 6);
    pushIncoming(a, 3, 35, 10);
    pushIncoming(a, 3, 0, 7);
    expect(hasIncoming(a, 3)).toBe(true);
    const got: number[] = [];
    expect(drainIncoming(a, 3, (s) => got.push(s))).toBe(5);
    expect(got).toEqual([5, 6, 7, 9, 10]);
    expect(hasIncoming(a, 3)).toBe(false);
    expect(drainIncoming(a, 3, (s) => got.push(s))).toBe(0);
  });

  it('fuzz: garbage heads, links and masks from a buggy peer never hang the drain nor hand out a bad slot', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 7 }), fc.integer()), { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 31 }), { maxLength: 20 }),
        (writes, pushes) => {
          const a = area(8, 32);
          pushes.forEach((s, i) => pushIncoming(a, 1, i % 8, s));
          for (const [what, idx, v] of writes) {
            if (what === 0) a.i32[a.cpuWord(1, CPU_LAYOUT.INCOMING.offset + idx)] = v;
            else if (what === 1) a.i32[a.slotWord(1 + (idx * 4) % 31, THREAD_SLOT_LAYOUT.WAKE_NEXT.offset)] = v;
            else a.i32[a.cpuWord(1, idx % 2 === 0 ? CPU_LAYOUT.MASK_LO.offset : CPU_LAYOUT.MASK_HI.offset)] = v;
          }
          let n = 0;
          drainIncoming(a, 1, (s) => {
            expect(s > 0 && s < 32).toBe(true);
            n++;
          });
          // Bounded: at most every slot once per list, plus a revisit that a cycle leaves behind.
          expect(n).toBeLessThanOrEqual(8 * 33);
        },
      ),
    );
  });
});
