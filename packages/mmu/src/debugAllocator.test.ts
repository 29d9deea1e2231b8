/**
 * The debug allocator catches a one-byte overflow and a use-after-free at the
 * faulting access, naming the address; smaller overflows into the alignment
 * padding, underflows and double frees are reported by free().
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { testMachine } from './internal/testMachine.js';
import { FAULT, MmuError, SegmentationFault } from './errors.js';
import { DEBUG_BASE, DEBUG_TOP } from './addressLayout.js';

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('debug allocator', () => {
  it('faults on a one-byte overflow at once, naming the address', () => {
    const mmu = testMachine(16 << 20, { debugMalloc: true });
    const p = mmu.malloc(24);
    expect(p).toBeGreaterThanOrEqual(DEBUG_BASE);
    expect(p).toBeLessThan(DEBUG_TOP);
    for (let i = 0; i < 24; i++) mmu.mem.write8(p + i, i);
    const e = thrown(() => mmu.mem.write8(p + 24, 0xee));
    expect(e).toBeInstanceOf(SegmentationFault);
    const f = e as SegmentationFault;
    expect(f.address).toBe(p + 24);
    expect(f.access).toBe('write');
    expect(f.fault).toBe(FAULT.MAPERR);
    expect(f.mapping?.kind).toBe('debug-heap');
    expect(f.message).toContain((p + 24).toString(16));
    mmu.free(p);
  });

  it('faults on a use after free, naming the address', () => {
    const mmu = testMachine(16 << 20, { debugMalloc: true });
    const p = mmu.malloc(100);
    mmu.mem.write32(p + 40, 7);
    expect(mmu.mem.read32(p + 40)).toBe(7);
    mmu.free(p);
    const e = thrown(() => mmu.mem.read32(p + 40)) as SegmentationFault;
    expect(e).toBeInstanceOf(SegmentationFault);
    expect(e.address).toBe(p + 40);
    expect(e.access).toBe('read');
    // A later allocation never reuses the freed pages.
    const q = mmu.malloc(100);
    expect(q).not.toBe(p);
    expect(() => mmu.mem.read8(p)).toThrow(SegmentationFault);
  });

  it('reports an overflow into the alignment padding at free, naming the first bad byte', () => {
    const mmu = testMachine(16 << 20, { debugMalloc: true });
    const p = mmu.malloc(13); // 3 bytes of padding before the page ends
    mmu.mem.write8(p + 13, 1);
    const e = thrown(() => mmu.free(p)) as MmuError;
    expect(e).toBeInstanceOf(MmuError);
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain(`0x${(p + 13).toString(16)}`);
    expect(e.message).toContain('overflow');
  });

  it('reports an underflow into the front fence at free', () => {
    const mmu = testMachine(16 << 20, { debugMalloc: true });
    const p = mmu.malloc(5000); // two data pages: the fence starts on the first
    mmu.mem.write8(p - 17, 1);
    const e = thrown(() => mmu.free(p)) as MmuError;
    expect(e.message).toContain(`0x${(p - 17).toString(16)}`);
    expect(e.message).toContain('underflow');
  });

  it('faults on a double free', () => {
    const mmu = testMachine(16 << 20, { debugMalloc: true });
    const p = mmu.malloc(64);
    mmu.free(p);
    const e = thrown(() => mmu.free(p)) as SegmentationFault;
    expect(e).toBeInstanceOf(SegmentationFault);
    expect(e.address).toBe(p);
  });

  it('gives every allocation its own zeroed pages and returns them all on free (fuzzed sizes)', () => {
    const mmu = testMachine(32 << 20, { debugMalloc: true });
    const free0 = mmu.memInfo().memFree;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20000 }), { minLength: 1, maxLength: 20 }), (sizes) => {
        const ptrs = sizes.map((n) => {
          const p = mmu.malloc(n);
          expect(p % 8).toBe(0);
          for (let i = 0; i < n; i += 997) expect(mmu.mem.read8(p + i)).toBe(0);
          if (n > 0) mmu.mem.fill(p, 0xab, n);
          expect(() => mmu.mem.read8(p + Math.ceil(n / 8) * 8 + (n === 0 ? 8 : 0))).toThrow(SegmentationFault);
          return p;
        });
        for (const p of ptrs) mmu.free(p);
      }),
      { numRuns: 30 },
    );
    expect(mmu.memInfo().debugHeap).toBe(0);
    expect(mmu.memInfo().memFree).toBe(free0);
    expect(mmu.checkConsistency()).toBeNull();
  });
});

describe('debug allocator against a hostile guest', () => {
  it('refuses a header an underflow overwrote instead of trusting its page count', () => {
    const mmu = testMachine(16 << 20, { debugMalloc: true });
    const p = mmu.malloc(40);
    mmu.mem.write32(p - 8, 0x7fffffff); // PAGES in the header
    const e = thrown(() => mmu.free(p)) as MmuError;
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain('header overwritten');
  });
});
