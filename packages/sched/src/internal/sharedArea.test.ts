import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SharedArea, slotOfTid } from './sharedArea.js';
import { CPU_LAYOUT, HEADER_LAYOUT, THREAD_SLOT_LAYOUT, sharedAreaWords } from './sharedLayout.js';
import { NEG } from '../errors.js';

function area(cpus = 2, threads = 8, sync = 4): SharedArea {
  const buf = new SharedArrayBuffer(64 + sharedAreaWords(cpus, threads, sync) * 4);
  return SharedArea.format(buf, 64, { cpuCount: cpus, threadCapacity: threads, syncCapacity: sync, lockLimitMs: 10 });
}

describe('SharedArea', () => {
  it('opens what format wrote, at the same offset, from another view', () => {
    const a = area();
    const b = SharedArea.open(a.buffer, 64);
    expect([b.cpuCount, b.threadCapacity, b.syncCapacity, b.slotBase, b.syncBase]).toEqual([a.cpuCount, a.threadCapacity, a.syncCapacity, a.slotBase, a.syncBase]);
  });

  it('refuses a missing or inconsistent header', () => {
    const a = area();
    expect(() => SharedArea.open(a.buffer, 0)).toThrowError(/no scheduler area/);
    a.i32[HEADER_LAYOUT.SLOT_BASE.offset] = 3;
    expect(() => SharedArea.open(a.buffer, 64)).toThrowError(/inconsistent/);
    expect(() => SharedArea.format(new SharedArrayBuffer(64), 0, { cpuCount: 1, threadCapacity: 2, syncCapacity: 1, lockLimitMs: 1 })).toThrowError(/needs/);
    expect(() => SharedArea.format(new SharedArrayBuffer(1 << 16), 4, { cpuCount: 1, threadCapacity: 2, syncCapacity: 1, lockLimitMs: 1 })).toThrowError(/aligned/);
    expect(() => SharedArea.format(new SharedArrayBuffer(1 << 16), 0, { cpuCount: 65, threadCapacity: 2, syncCapacity: 1, lockLimitMs: 1 })).toThrowError(/cpus/);
  });

  it('hands out every slot once, reuses freed ones with a new generation, and steals another CPU\'s free list', () => {
    const a = area(2, 8);
    const got = new Set<number>();
    for (let i = 0; i < 7; i++) got.add(a.allocSlot(0));
    expect([...got].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(a.allocSlot(0)).toBe(NEG.EAGAIN);
    const tid = a.tidOf(3);
    a.freeSlot(1, 3);
    a.freeSlot(1, 5);
    expect(a.slotIfCurrent(tid)).toBe(0);
    expect(slotOfTid(a.tidOf(3))).toBe(3);
    // CPU 0's own list is empty and the bump region is used up: it takes CPU 1's list.
    const s1 = a.allocSlot(0);
    const s2 = a.allocSlot(0);
    expect(new Set([s1, s2])).toEqual(new Set([3, 5]));
    expect(a.allocSlot(0)).toBe(NEG.EAGAIN);
  });

  it('allocates and frees sync blocks', () => {
    const a = area(1, 4, 3);
    const w1 = a.allocSync(0);
    const w2 = a.allocSync(0);
    expect(a.validSyncWord(w1) && a.validSyncWord(w2)).toBe(true);
    expect(a.allocSync(0)).toBe(NEG.EAGAIN);
    a.i32[w1 + 3] = 99;
    a.freeSync(0, w1);
    const w3 = a.allocSync(0);
    expect(w3).toBe(w1);
    expect(a.i32[w3 + 3]).toBe(0);
    expect(a.validSyncWord(w1 + 1)).toBe(false);
  });

  it('fuzz: corrupted free-list heads and links never hang allocation or yield a bad slot', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -5, max: 40 })), { maxLength: 30 }), (writes) => {
        const a = area(2, 16);
        for (let i = 0; i < 15; i++) a.allocSlot(i % 2);
        for (let s = 1; s < 16; s++) a.freeSlot(s % 2, s);
        for (const [where, v] of writes) {
          if (where === 0) a.i32[a.cpuWord(0, CPU_LAYOUT.FREE_SLOTS.offset)] = v;
          else if (where === 1) a.i32[a.cpuWord(1, CPU_LAYOUT.FREE_SLOTS.offset)] = v;
          else a.i32[a.slotWord(1 + (Math.abs(v) % 15), THREAD_SLOT_LAYOUT.FREE_NEXT.offset)] = v;
        }
        for (let i = 0; i < 40; i++) {
          const s = a.allocSlot(i % 2);
          expect(s === NEG.EAGAIN || (s > 0 && s < 16)).toBe(true);
        }
      }),
    );
  });
});
