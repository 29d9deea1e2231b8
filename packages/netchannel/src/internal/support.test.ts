import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BufferArena } from './bufferArena.js';
import { Timer, TimerQueue } from './timerQueue.js';
import { MbufPool, MBUF_SIZE } from '../mbufPool.js';
import { NetChannel, NetChannelClassifier, NET_CHANNEL_SLOTS } from '../netChannel.js';
import { VirtualClock } from '../virtualClock.js';

describe('TimerQueue', () => {
  it('fires in deadline order (ties in arming order) under any mix of arm, re-arm and cancel', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 19 }), fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 200 }), (ops) => {
        const q = new TimerQueue();
        const fired: number[] = [];
        const timers = Array.from({ length: 20 }, (_, i) => new Timer(() => fired.push(i)));
        const model = new Map<number, [number, number]>();
        let seq = 0;
        for (const [i, d, cancel] of ops) {
          if (cancel) {
            q.cancel(timers[i]!);
            model.delete(i);
          } else {
            q.arm(timers[i]!, d);
            model.set(i, [d, seq++]);
          }
        }
        expect(q.size).toBe(model.size);
        for (let t = q.popDue(Infinity); t !== null; t = q.popDue(Infinity)) t.fire();
        const expected = [...model.entries()].sort((a, b) => a[1][0] - b[1][0] || a[1][1] - b[1][1]).map(([i]) => i);
        expect(fired).toEqual(expected);
      }),
    );
  });
});

describe('VirtualClock', () => {
  it('advances through timers in order and cancels', () => {
    const c = new VirtualClock();
    const log: string[] = [];
    c.setTimer(30, () => log.push(`b${c.now()}`));
    const h = c.setTimer(20, () => log.push('x'));
    c.setTimer(10, () => {
      log.push(`a${c.now()}`);
      c.setTimer(15, () => log.push(`c${c.now()}`));
    });
    c.clearTimer(h);
    c.advance(100);
    expect(log).toEqual(['a10', 'c15', 'b30']);
    expect(c.now()).toBe(100);
  });
});

describe('BufferArena', () => {
  it('hands out disjoint, aligned blocks and coalesces back to the whole region', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 70_000 }), fc.boolean()), { maxLength: 100 }), (ops) => {
        const a = new BufferArena(1 << 20, 1 << 20);
        const live: [number, number][] = [];
        for (const [size, free] of ops) {
          if (free && live.length > 0) {
            const [off] = live.splice(size % live.length, 1)[0]!;
            a.release(off);
            continue;
          }
          const off = a.alloc(size);
          if (off < 0) continue;
          const bs = BufferArena.blockSize(size);
          expect((off - (1 << 20)) % bs).toBe(0);
          for (const [o, s] of live) expect(off + bs <= o || o + s <= off).toBe(true);
          live.push([off, bs]);
        }
        for (const [o] of live) a.release(o);
        expect(a.bytesInUse).toBe(0);
        expect(a.alloc(1 << 20)).toBe(1 << 20);
      }),
    );
  });

  it('refuses to free what it did not allocate', () => {
    const a = new BufferArena(0, 1 << 16);
    expect(() => a.release(4096)).toThrow(RangeError);
  });
});

describe('MbufPool', () => {
  it('counts mbufs in use, reports exhaustion and catches double frees', () => {
    const pool = new MbufPool({ byteLength: 64 * MBUF_SIZE, mbufCount: 4 });
    const ms = [pool.alloc(), pool.alloc(), pool.alloc(), pool.alloc()];
    expect(new Set(ms).size).toBe(4);
    expect(pool.inUse).toBe(4);
    expect(pool.alloc()).toBe(-1);
    expect(pool.allocFailures).toBe(1);
    pool.setNext(ms[0]!, ms[1]!);
    pool.freeChain(ms[0]!);
    expect(pool.inUse).toBe(2);
    expect(() => pool.free(ms[1]!)).toThrow(/twice/);
  });

  it('carves a region of a SharedArrayBuffer (guest memory)', () => {
    const sab = new SharedArrayBuffer(1 << 20);
    const pool = new MbufPool({ memory: sab, byteOffset: 4096, byteLength: 512 * 1024, mbufCount: 64 });
    const m = pool.alloc(0);
    pool.bytes[pool.off(m)] = 42;
    expect(new Uint8Array(sab)[4096 + pool.off(m)]).toBe(42);
  });

  it('rejects a region too small for one mbuf', () => {
    expect(() => new MbufPool({ byteLength: 100, mbufCount: 1 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

describe('NetChannel', () => {
  it('is a FIFO of 256 slots that refuses the 257th', () => {
    const ch = new NetChannel(1, 2, 3, 4, null, { wake() {} });
    for (let i = 0; i < NET_CHANNEL_SLOTS; i++) expect(ch.push(i)).toBe(true);
    expect(ch.push(999)).toBe(false);
    for (let i = 0; i < NET_CHANNEL_SLOTS; i++) expect(ch.pop()).toBe(i);
    expect(ch.pop()).toBe(-1);
  });

  it('classifies by exact 4-tuple and finds nothing when switched off', () => {
    const cl = new NetChannelClassifier<number>(12345);
    const chans = Array.from({ length: 300 }, (_, i) => new NetChannel<number>(10, 80, 20 + i, 1000 + i, i, { wake() {} }));
    for (const c of chans) cl.add(c);
    expect(cl.lookup(10, 80, 20 + 7, 1007)?.owner).toBe(7);
    expect(cl.lookup(10, 80, 20 + 7, 1008)).toBeNull();
    cl.remove(chans[7]!);
    expect(cl.lookup(10, 80, 27, 1007)).toBeNull();
    expect(cl.size).toBe(299);
    cl.enabled = false;
    expect(cl.lookup(10, 80, 28, 1008)).toBeNull();
  });
});
