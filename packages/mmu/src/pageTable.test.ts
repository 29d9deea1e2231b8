/**
 * The page-table walker and editor: accessed/dirty bits set as hardware sets
 * them, permissions ANDed across levels, 2 MiB leaves split without changing
 * translations, and — fuzzed — page-table entries a hostile guest writes
 * through raw physical memory never make the walker read outside memory or
 * loop, and never make mmu throw anything but its own typed errors.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { testMachine } from './internal/testMachine.js';
import { ACCESS, FAULT, MmuError } from './errors.js';
import { FRAME_KIND } from './internal/sharedLayout.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from './mmapFlags.js';
import { HUGE_PAGE_SIZE, PTE_A, PTE_D, PTE_PS, PTE_RW } from './pageTableEntry.js';
import { MMAP_MIN_ADDR, MMAP_TOP, LINEAR_BASE } from './addressLayout.js';
import type { Mmu } from './mmu.js';

function parts(mmu: Mmu) {
  const as = mmu['as'];
  return { as, pt: as.pt, pages: as.pages, m: as.m };
}

describe('page tables', () => {
  it('set the accessed bit on a read and the dirty bit on the first write', () => {
    const mmu = testMachine(16 << 20, { hugePages: false });
    const { pt } = parts(mmu);
    const a = mmu.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    mmu.mem.read32(a);
    expect(pt.lookup(a)).toBe(1);
    let low = pt.low(pt.entryAddr);
    expect(low & PTE_A).not.toBe(0);
    expect(low & PTE_D).toBe(0);
    expect(low & PTE_RW).not.toBe(0);
    mmu.mem.write32(a, 1);
    pt.lookup(a);
    low = pt.low(pt.entryAddr);
    expect(low & PTE_D).not.toBe(0);
  });

  it('maps a 2 MiB leaf when the aligned block lies inside the mapping, and splits it on a partial munmap', () => {
    const mmu = testMachine(32 << 20);
    const { pt } = parts(mmu);
    const a = mmu.mmap(0, 2 * HUGE_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(a % HUGE_PAGE_SIZE).toBe(0);
    mmu.mem.write32(a + 12345 * 4, 42);
    expect(pt.lookup(a)).toBe(2);
    expect(pt.low(pt.entryAddr) & PTE_PS).not.toBe(0);
    expect(mmu.memInfo().anonHugePages).toBe(HUGE_PAGE_SIZE);
    const before = mmu.mem.translate(a + 8192, ACCESS.READ);
    mmu.munmap(a, 4096);
    expect(pt.lookup(a + 8192)).toBe(1);
    expect(mmu.mem.translate(a + 8192, ACCESS.READ)).toBe(before);
    expect(mmu.mem.read32(a + 12345 * 4)).toBe(42);
    expect(mmu.memInfo().anonHugePages).toBe(0);
    expect(mmu.memInfo().anonPages).toBe(HUGE_PAGE_SIZE - 4096);
  });

  it('falls back to 4 KiB pages when the block is not wholly inside the mapping', () => {
    const mmu = testMachine(32 << 20);
    const { pt } = parts(mmu);
    const a = mmu.mmap(0, HUGE_PAGE_SIZE - 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    mmu.mem.write32(a, 1);
    expect(pt.lookup(a)).toBe(1);
  });

  it('maps the linear map with 2 MiB leaves and leaves physical page 0 out', () => {
    const mmu = testMachine(16 << 20);
    expect(mmu.mem.translate(LINEAR_BASE + 0x40_0000 + 8, ACCESS.READ)).toBe(0x40_0000 + 8);
    expect(mmu.mem.translate(LINEAR_BASE + 0x1000, ACCESS.READ)).toBe(0x1000);
    expect(mmu.mem.translate(LINEAR_BASE, ACCESS.READ)).toBe(FAULT.MAPERR);
    expect(mmu.mem.translate(LINEAR_BASE + 0x40_0000, ACCESS.EXEC)).toBe(FAULT.ACCERR);
  });

  it('never reads outside memory, never loops and throws only typed errors on hostile entries (fuzz)', () => {
    const word = fc.oneof(
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.integer({ min: 0, max: 4095 }).map((p) => (p * 4096) | 0x67), // a plausible present entry
      fc.integer({ min: 0, max: 4095 }).map((p) => (p * 4096) | 0xe7), // with PS
      fc.constantFrom(0, 1, 0x87, -1, 0x7fff_f067),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.nat(1023), word), { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 30 }), (scribbles, probes) => {
        const mmu = testMachine(16 << 20);
        const { pt, pages, m } = parts(mmu);
        const a = mmu.mmap(0, 4 * HUGE_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
        const b = mmu.mmap(0, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
        for (let k = 0; k < 4; k++) mmu.mem.write32(a + k * HUGE_PAGE_SIZE + 4096, k);
        for (let k = 0; k < 64; k += 3) mmu.mem.write32(b + k * 4096, k);
        const tables: number[] = [];
        for (let pfn = 0; pfn < m.bytes / 4096; pfn++) if (pages.kindOf(pfn) === FRAME_KIND.PAGE_TABLE) tables.push(pfn);
        for (const [t, idx, v] of scribbles) m.i32[tables[t % tables.length]! * 1024 + idx] = v;
        const vas = [a, b, LINEAR_BASE + 0x30_0000, MMAP_MIN_ADDR, 2 ** 47 - 4096];
        for (const p of probes) {
          const va = vas[p % vas.length]! + (p % 2048) * 4096 + (p % 4093);
          for (const access of [ACCESS.READ, ACCESS.WRITE]) {
            const r = pt.walk(va, access);
            if (r === 0) expect(pt.pagePhys + 4096).toBeLessThanOrEqual(m.bytes);
            else expect([FAULT.MAPERR, FAULT.ACCERR, FAULT.BAD_PTE]).toContain(r);
            try {
              if (access === ACCESS.READ) mmu.mem.read32(va & ~3);
              else mmu.mem.write32(va & ~3, 7);
            } catch (e) {
              expect(e).toBeInstanceOf(MmuError);
            }
          }
        }
        try {
          mmu.mprotect(a, 4 * HUGE_PAGE_SIZE, PROT_READ);
          mmu.munmap(MMAP_MIN_ADDR, MMAP_TOP - MMAP_MIN_ADDR);
        } catch (e) {
          expect(e).toBeInstanceOf(MmuError);
        }
        expect(mmu.checkConsistency()).toBeNull();
      }),
      { numRuns: 150 },
    );
  });
});
