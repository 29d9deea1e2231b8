/**
 * malloc: size classes, whole pages, alignment, calloc/realloc, frees from
 * another vCPU (two Mmu instances over one memory in this thread), and a fuzz
 * of random malloc/free sequences that checks no two live blocks overlap and
 * that everything comes back.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { testMachine } from './internal/testMachine.js';
import { Mmu } from './mmu.js';
import { MmuError } from './errors.js';
import { LINEAR_BASE } from './addressLayout.js';
import { MAX_POOLED, sizeClass } from './malloc.js';

describe('malloc', () => {
  it('maps sizes to power-of-two classes from 8 to 1024', () => {
    expect([1, 8, 9, 16, 17, 1000, 1024].map(sizeClass)).toEqual([0, 0, 1, 1, 2, 7, 7]);
    expect(MAX_POOLED).toBe(1024);
  });

  it('returns linear-map addresses aligned to the size class, whole pages above 1 KiB', () => {
    const mmu = testMachine(16 << 20);
    for (const n of [1, 8, 24, 100, 512, 1024]) {
      const p = mmu.malloc(n);
      expect(p).toBeGreaterThan(LINEAR_BASE);
      expect(p % Math.min(1024, 2 ** Math.ceil(Math.log2(Math.max(n, 8))))).toBe(0);
      expect(mmu.usableSize(p)).toBe(Math.max(8, 2 ** Math.ceil(Math.log2(n))));
    }
    const big = mmu.malloc(10000);
    expect(big % 4096).toBe(0);
    expect(mmu.usableSize(big)).toBe(12288);
    expect(mmu.memInfo().mallocLarge).toBe(12288);
    mmu.free(big);
    expect(mmu.memInfo().mallocLarge).toBe(0);
  });

  it('memalign honours alignments from 8 bytes to 64 KiB', () => {
    const mmu = testMachine(16 << 20);
    for (const a of [8, 64, 1024, 4096, 65536]) {
      const p = mmu.memalign(a, 100);
      expect((p - LINEAR_BASE) % a).toBe(0);
      mmu.free(p);
    }
    expect(() => mmu.memalign(3, 8)).toThrow(MmuError);
  });

  it('calloc zeroes, realloc keeps the contents', () => {
    const mmu = testMachine(16 << 20);
    const a = mmu.malloc(64);
    mmu.mem.fill(a, 0xff, 64);
    mmu.free(a);
    const c = mmu.calloc(8, 8);
    for (let i = 0; i < 64; i++) expect(mmu.mem.read8(c + i)).toBe(0);
    for (let i = 0; i < 64; i++) mmu.mem.write8(c + i, i);
    const r = mmu.realloc(c, 5000);
    for (let i = 0; i < 64; i++) expect(mmu.mem.read8(r + i)).toBe(i);
    const s = mmu.realloc(r, 16);
    for (let i = 0; i < 16; i++) expect(mmu.mem.read8(s + i)).toBe(i);
    expect(mmu.calloc(2 ** 40, 2 ** 20)).toBe(0);
  });

  it('rejects pointers it never returned', () => {
    const mmu = testMachine(16 << 20);
    const p = mmu.malloc(64);
    expect(() => mmu.free(p + 4)).toThrow(MmuError);
    expect(() => mmu.free(12345)).toThrow(MmuError);
    expect(() => mmu.free(mmu.linearAddress(0x3000))).toThrow(MmuError);
  });

  it('sends frees from another vCPU back through the owner’s remote-free queue', () => {
    const a = testMachine(16 << 20);
    const memory = (a as unknown as { m: { buffer: SharedArrayBuffer } }).m.buffer;
    const b = Mmu.attach({ memory, cpu: 1, stateAddress: a.stateAddress });
    const ptrs = Array.from({ length: 600 }, () => a.malloc(32));
    const slab = a.memInfo().slab;
    expect(slab).toBeGreaterThanOrEqual(4 * 4096);
    for (const p of ptrs) b.free(p);
    expect(a.memInfo().slab).toBe(slab); // nothing returned until the owner drains
    a.drainRemoteFrees();
    expect(a.memInfo().slab).toBeLessThanOrEqual(4096);
    // Objects are reusable by the owner afterwards.
    const again = Array.from({ length: 600 }, () => a.malloc(32));
    expect(new Set(again).size).toBe(600);
    expect(a.checkConsistency()).toBeNull();
  });

  it('never hands out overlapping blocks and gets every page back (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 1100 }), fc.integer({ min: 1025, max: 70000 }), fc.constant(-1)), { minLength: 1, maxLength: 300 }),
        (script) => {
          const mmu = testMachine(32 << 20);
          const free0 = mmu.memInfo().memFree;
          const live = new Map<number, number>();
          let tag = 1;
          for (const s of script) {
            if (s < 0 || live.size > 200) {
              const [p] = live.keys();
              if (p === undefined) continue;
              expect(mmu.mem.read32(p)).toBe(live.get(p));
              mmu.free(p);
              live.delete(p);
              continue;
            }
            const p = mmu.malloc(s);
            expect(p).not.toBe(0);
            expect(live.has(p)).toBe(false);
            if (s >= 4) {
              mmu.mem.write32(p, tag);
              live.set(p, tag++);
            } else mmu.free(p);
          }
          const blocks = [...live.keys()].map((p) => [p, p + mmu.usableSize(p)] as const).sort((x, y) => x[0] - y[0]);
          for (let i = 1; i < blocks.length; i++) expect(blocks[i]![0]).toBeGreaterThanOrEqual(blocks[i - 1]![1]);
          for (const [p, t] of live) expect(mmu.mem.read32(p)).toBe(t);
          for (const p of live.keys()) mmu.free(p);
          expect(mmu.checkConsistency()).toBeNull();
          expect(mmu.memInfo().mallocLarge).toBe(0);
          expect(mmu.memInfo().memFree + mmu.memInfo().slab).toBe(free0);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('malloc against a hostile guest', () => {
  it('cuts a cyclic or wild remote-free chain instead of following it forever', () => {
    const a = testMachine(16 << 20);
    const memory = a['m'].buffer;
    const b = Mmu.attach({ memory, cpu: 1, stateAddress: a.stateAddress });
    const p = a.malloc(32);
    const q = a.malloc(32);
    b.free(p);
    b.free(q); // the owner's stack: q -> p -> end
    a.mem.write32(p, Number(q - LINEAR_BASE) | 0); // use after free: p -> q, a cycle
    a.drainRemoteFrees();
    expect(a.memInfo().corrupt).toBeGreaterThan(0);
    const r = a.malloc(32);
    expect(r).not.toBe(0);
  });

  it('drops a free-list link a use-after-free overwrote', () => {
    const mmu = testMachine(16 << 20);
    const p = mmu.malloc(64);
    mmu.malloc(64);
    mmu.free(p);
    mmu.mem.write32(p, 12345); // not an object offset
    expect(mmu.malloc(64)).toBe(p);
    const fresh = mmu.malloc(64);
    expect(fresh).not.toBe(0);
    expect(mmu.memInfo().corrupt).toBe(1);
  });
});
