import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adjust16, adjust32, internetChecksum } from './checksumAdjust.js';
import { NAT_PORT_FIRST, NatTable, newFlow, type NatFlow } from './natTable.js';

describe('NatTable', () => {
  it('finds live flows by 4-tuple and by NAT port, keeps retired ports until their quarantine ends', () => {
    const t = new NatTable<NatFlow>(8);
    const a = newFlow(1, 1000, 9, 80, 1);
    const b = newFlow(2, 1000, 9, 80, 1); // same ports, another guest address
    expect(t.add(a) && t.add(b)).toBe(true);
    expect(a.natPort).not.toBe(b.natPort);
    expect(t.lookup(1, 1000, 9, 80)).toBe(a);
    expect(t.lookup(2, 1000, 9, 80)).toBe(b);
    expect(t.lookup(1, 1000, 8, 80)).toBeUndefined();
    t.retire(a, 100);
    expect(t.lookup(1, 1000, 9, 80)).toBeUndefined();
    expect(t.byNatPort(a.natPort)).toBe(a);
    expect([t.live, t.held]).toEqual([1, 2]);
    t.sweep(99);
    expect(t.byNatPort(a.natPort)).toBe(a);
    t.sweep(100);
    expect(t.byNatPort(a.natPort)).toBeUndefined();
    expect(t.lookup(2, 1000, 9, 80)).toBe(b);
    t.remove(b);
    expect([t.live, t.held]).toEqual([0, 0]);
  });

  it('never hands out a port twice and stays within its bound under any sequence', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('add', 'retire', 'remove', 'sweep'), fc.nat(20), fc.nat(3)), { maxLength: 300 }), (ops) => {
        const t = new NatTable<NatFlow>(16);
        const flows: NatFlow[] = [];
        let now = 0;
        for (const [op, x, y] of ops) {
          now++;
          if (op === 'add') {
            if (t.lookup(y, x, 5, 5) !== undefined) continue;
            const f = newFlow(y, x, 5, 5, 1);
            if (t.add(f)) flows.push(f);
          } else if (op === 'retire' && flows.length > 0) t.retire(flows[x % flows.length]!, now + y);
          else if (op === 'remove' && flows.length > 0) t.remove(flows.splice(x % flows.length, 1)[0]!);
          else if (op === 'sweep') t.sweep(now);
          expect(t.held).toBeLessThanOrEqual(16);
          const ports = flows.filter((f) => t.byNatPort(f.natPort) === f).map((f) => f.natPort);
          expect(new Set(ports).size).toBe(ports.length);
          expect(ports.every((p) => p >= NAT_PORT_FIRST)).toBe(true);
        }
      }),
    );
  });
});

describe('incremental checksum update (RFC 1624)', () => {
  it('equals recomputing the checksum after any 16- or 32-bit change', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 64 }), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (raw, at, v) => {
        const b = raw.slice(0, raw.length & ~1);
        const o = (at % ((b.length - 4) >> 1)) * 2;
        const sum = internetChecksum(b, 0, b.length);
        const old32 = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
        const c = b.slice();
        c.set([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255], o);
        const want = internetChecksum(c, 0, c.length);
        const got = adjust32(sum, old32, v);
        // 0x0000 and 0xffff are the same number in ones' complement
        expect(got === want || (got ^ want) === 0xffff).toBe(true);
        const c16 = b.slice();
        c16.set([v >>> 8 & 255, v & 255], o);
        const got16 = adjust16(sum, (b[o]! << 8) | b[o + 1]!, v & 0xffff);
        const want16 = internetChecksum(c16, 0, c16.length);
        expect(got16 === want16 || (got16 ^ want16) === 0xffff).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
