/**
 * The declared layouts against their sources: paging-entry bits at the
 * positions Intel SDM vol. 3A §4.5 gives them, entry and table sizes, the
 * shared structures' sizes (cache-line multiples where they sit per CPU), and
 * the layout helpers' own checks.
 */
import { describe, expect, it } from 'vitest';
import { bits64, struct } from './layout.js';
import { LINEAR_ADDRESS_FIELDS, PDE_2M_FIELDS, PTE_BYTES, PTE_FIELDS, PTES_PER_TABLE, PAGE_SIZE, HUGE_PAGE_SIZE, tableIndex } from './pageTableEntry.js';
import { CPU_BLOCK_LAYOUT, FRAME_LAYOUT, MMU_HEADER_LAYOUT, VMA_LAYOUT } from './internal/sharedLayout.js';
import { DEBUG_HEADER_LAYOUT } from './debugAllocator.js';

describe('layouts', () => {
  it('place the paging-entry bits where the SDM does', () => {
    const bit = (f: { word: number; shift: number }) => f.word * 32 + f.shift;
    expect([PTE_FIELDS.P, PTE_FIELDS.RW, PTE_FIELDS.US, PTE_FIELDS.A, PTE_FIELDS.D, PTE_FIELDS.PS, PTE_FIELDS.G].map(bit)).toEqual([0, 1, 2, 5, 6, 7, 8]);
    expect(bit(PTE_FIELDS.XD)).toBe(63);
    expect(bit(PTE_FIELDS.ADDR_LO)).toBe(12);
    expect(PTE_FIELDS.ADDR_LO.width + PTE_FIELDS.ADDR_HI.width).toBe(40); // bits 12..51 (MAXPHYADDR 52)
    expect(PTE_FIELDS.XD.mask).toBe(-0x8000_0000);
    expect(bit(PDE_2M_FIELDS.ADDR_LO)).toBe(21);
    expect(PTE_BYTES * PTES_PER_TABLE).toBe(PAGE_SIZE);
    expect(HUGE_PAGE_SIZE).toBe(2 << 20);
  });

  it('split linear addresses into four 9-bit indices', () => {
    const va = 0x0000_7f12_3456_7000;
    expect([4, 3, 2, 1].map((l) => tableIndex(va, l))).toEqual([
      Math.floor(va / 2 ** 39) % 512,
      Math.floor(va / 2 ** 30) % 512,
      Math.floor(va / 2 ** 21) % 512,
      Math.floor(va / 2 ** 12) % 512,
    ]);
    expect(LINEAR_ADDRESS_FIELDS.PML4.shift + LINEAR_ADDRESS_FIELDS.PML4.width).toBe(48);
  });

  it('keep the shared structures at their intended sizes', () => {
    expect(FRAME_LAYOUT.SIZE).toBe(32);
    expect(VMA_LAYOUT.SIZE % 8).toBe(0);
    expect(VMA_LAYOUT.START.offset % 8).toBe(0);
    expect(CPU_BLOCK_LAYOUT.SIZE % 64).toBe(0);
    expect(MMU_HEADER_LAYOUT.SIZE % 8).toBe(0);
    expect(DEBUG_HEADER_LAYOUT.SIZE).toBe(16);
  });

  it('reject duplicate, overlapping and straddling fields', () => {
    expect(() => struct([['A', 4], ['A', 4]])).toThrow(TypeError);
    expect(() => struct([['SIZE', 4]])).toThrow(TypeError);
    expect(() => bits64([['X', 30, 4]])).toThrow(TypeError);
    expect(() => bits64([['X', 0, 4], ['Y', 3, 1]])).toThrow(TypeError);
    expect(struct([['A', 4], ['B', 8]]).B).toEqual({ offset: 4, size: 8 });
  });
});
