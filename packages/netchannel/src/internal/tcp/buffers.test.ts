import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_OOO_RANGES, RecvBuffer } from './recvBuffer.js';
import { SACK_MAX_RANGES, SackScoreboard } from './sackScoreboard.js';
import { SendBuffer } from './sendBuffer.js';

describe('SendBuffer', () => {
  it('returns what was appended, from any offset, across the ring edge', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 900 }), fc.integer({ min: 0, max: 900 })), { maxLength: 60 }), (ops) => {
        const mem = new Uint8Array(8192);
        const sb = new SendBuffer(mem, 4096, 1024);
        const model: number[] = [];
        let next = 0;
        for (const [w, c] of ops) {
          const src = Uint8Array.from({ length: w }, () => next++ & 255);
          const n = sb.append(src, 0, w);
          model.push(...src.subarray(0, n));
          const take = Math.min(c, sb.len);
          if (take > 0) {
            const out = new Uint8Array(take);
            sb.copyOut(out, 0, 0, take);
            expect([...out]).toEqual(model.slice(0, take));
            sb.consume(take);
            model.splice(0, take);
          }
          expect(sb.len).toBe(model.length);
          expect(sb.space).toBe(1024 - model.length);
        }
        expect(mem.subarray(0, 4096).every((x) => x === 0)).toBe(true); // never writes outside its ring
      }),
    );
  });
});

describe('RecvBuffer', () => {
  it('reassembles segments arriving in any order, duplicated or overlapping, into the original stream', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 400 })), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (segs, isn) => {
          const mem = new Uint8Array(16384);
          const rb = new RecvBuffer(mem, 8192, 4096);
          const src = new Uint8Array(8192);
          for (let i = 0; i < 4096; i++) src[4096 + i] = (i * 7 + 3) & 255; // stream byte i lives at src[4096 + i]
          let rcvNxt = isn >>> 0;
          let delivered = 0;
          const received = new Uint8Array(4096);
          for (const [start, len0] of segs) {
            // Trim like TCP input does: to [rcvNxt, rcvNxt + space).
            const lo = Math.max(start, delivered);
            const hi = Math.min(start + len0, delivered + rb.space, 4096);
            if (hi <= lo) continue;
            rb.place(lo - delivered, src, 4096 + lo, hi - lo);
            if (lo === delivered) {
              const adv = rb.advance(hi - lo, rcvNxt);
              rcvNxt = (rcvNxt + adv) >>> 0;
              delivered += adv;
            } else {
              rb.addOoo((isn + lo) >>> 0, (isn + hi) >>> 0, rcvNxt);
            }
            const got = rb.read(received, delivered - rb.readable, rb.readable);
            void got;
          }
          for (let i = 0; i < delivered; i++) if (received[i] !== src[4096 + i]) return false;
          return mem.subarray(0, 8192).every((x) => x === 0) && rb.nOoo <= MAX_OOO_RANGES;
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports SACK blocks most recent first, disjoint and above RCV.NXT', () => {
    const rb = new RecvBuffer(new Uint8Array(8192), 0, 8192);
    const src = new Uint8Array(8192);
    rb.place(100, src, 0, 10);
    rb.addOoo(1100, 1110, 1000);
    rb.place(300, src, 0, 10);
    rb.addOoo(1300, 1310, 1000);
    rb.place(110, src, 0, 5);
    rb.addOoo(1110, 1115, 1000);
    const out = new Uint32Array(8);
    expect(rb.sackBlocks(out, 4)).toBe(2);
    expect([...out.subarray(0, 4)]).toEqual([1100, 1115, 1300, 1310]);
  });
});

describe('SackScoreboard', () => {
  it('agrees with a byte map, and never accepts blocks outside (SND.UNA, SND.MAX]', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -200, max: 2200 }), fc.integer({ min: -50, max: 600 })), { maxLength: 50 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (blocks, base) => {
          const sb = new SackScoreboard();
          const una = base >>> 0;
          const sndMax = (una + 2000) >>> 0;
          const map = new Uint8Array(2000);
          const blk = new Uint32Array(2);
          for (const [l, n] of blocks) {
            blk[0] = (una + l) >>> 0;
            blk[1] = (una + l + n) >>> 0;
            const added = sb.update(una, sndMax, blk, 1);
            let expectAdded = 0;
            if (n > 0 && l >= 0 && l + n <= 2000) {
              for (let i = l; i < l + n; i++) if (!map[i]) {
                map[i] = 1;
                expectAdded++;
              }
            }
            if (sb.n < SACK_MAX_RANGES) expect(added).toBe(expectAdded);
            else return true; // beyond the range cap the scoreboard may forget; the model no longer applies
          }
          expect(sb.sackedBytes()).toBe(map.reduce((a, x) => a + x, 0));
          if (sb.hole(una, sndMax)) {
            const first = map.indexOf(0);
            expect(sb.holeStart).toBe((una + first) >>> 0);
          }
          return true;
        },
      ),
      { numRuns: 400 },
    );
  });

  it('drops what a cumulative ACK covers', () => {
    const sb = new SackScoreboard();
    sb.update(0, 1000, Uint32Array.of(100, 200, 300, 400), 2);
    sb.advance(150);
    expect(sb.sackedBytes()).toBe(150);
    sb.advance(500);
    expect(sb.n).toBe(0);
  });
});
