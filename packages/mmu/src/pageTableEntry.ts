/**
 * x86-64 4-level paging: the format of paging-structure entries and of linear
 * addresses, declared once. Source: Intel SDM vol. 3A ch. 4, §4.5 "4-Level
 * Paging and 5-Level Paging", Figure 4-11 and Tables 4-15 (PML4E), 4-17
 * (PDPTE referencing a page directory), 4-18 (PDE mapping a 2-MByte page),
 * 4-19 (PDE referencing a page table) and 4-20 (PTE mapping a 4-KByte page).
 *
 * An entry is 8 bytes, little-endian, kept in guest memory as two 32-bit
 * halves (low word at the lower address). Bits 9..11 and 52..58 are ignored by
 * the processor; mmu uses bit 9 (SW_KEPT) to keep the frame of a page that
 * PROT_NONE made not-present, as Linux's _PAGE_PROTNONE does.
 */
import { bits64 } from './layout.js';

/** Bit fields of a paging-structure entry (all levels; D and G only in leaves). */
export const PTE_FIELDS = bits64([
  ['P', 0, 1], // present
  ['RW', 1, 1], // writable (ANDed across levels)
  ['US', 2, 1], // user/supervisor: recorded, not enforced (OSv has no user/kernel split)
  ['PWT', 3, 1],
  ['PCD', 4, 1],
  ['A', 5, 1], // accessed: set by the walker on every level it uses
  ['D', 6, 1], // dirty: set by the walker on a write through a leaf
  ['PS', 7, 1], // page size: 1 in a PDE that maps a 2 MiB page (PAT in a 4 KiB PTE)
  ['G', 8, 1], // global
  ['SW_KEPT', 9, 1], // software: not present, but ADDR still names this page's frame (PROT_NONE)
  ['SW_10', 10, 1], // software, unused
  ['SW_11', 11, 1], // software, unused
  ['ADDR_LO', 12, 20], // physical address bits 12..31
  ['ADDR_HI', 32, 20], // physical address bits 32..51 (0: osv-ts memory is below 4 GiB)
  ['IGN_HI', 52, 7], // ignored
  ['PKEY', 59, 4], // protection key (ignored: CR4.PKE is clear)
  ['XD', 63, 1], // execute-disable (EFER.NXE is set)
] as const);

/** In a 2 MiB PDE: PAT (bit 12), reserved bits 13..20 (must be 0), address bits 21..31 (Table 4-18). */
export const PDE_2M_FIELDS = bits64([
  ['PAT', 12, 1],
  ['RSVD', 13, 8],
  ['ADDR_LO', 21, 11],
] as const);

/** Linear-address fields for 4-level paging (Figure 4-8): four 9-bit indices and the page offset. */
export const LINEAR_ADDRESS_FIELDS = {
  PML4: { shift: 39, width: 9 },
  PDPT: { shift: 30, width: 9 },
  PD: { shift: 21, width: 9 },
  PT: { shift: 12, width: 9 },
  OFFSET: { shift: 0, width: 12 },
} as const;

/** Present. */
export const PTE_P = PTE_FIELDS.P.mask;
/** Writable. */
export const PTE_RW = PTE_FIELDS.RW.mask;
/** User. */
export const PTE_US = PTE_FIELDS.US.mask;
/** Accessed. */
export const PTE_A = PTE_FIELDS.A.mask;
/** Dirty. */
export const PTE_D = PTE_FIELDS.D.mask;
/** 2 MiB leaf in a PDE. */
export const PTE_PS = PTE_FIELDS.PS.mask;
/** Software: not-present entry that keeps its frame. */
export const PTE_SW_KEPT = PTE_FIELDS.SW_KEPT.mask;
/** Physical address bits in the low half of a 4 KiB PTE or a table pointer. */
export const PTE_ADDR_LO = PTE_FIELDS.ADDR_LO.mask;
/** Physical address bits in the high half. */
export const PTE_ADDR_HI = PTE_FIELDS.ADDR_HI.mask;
/** Execute-disable, in the high half. */
export const PTE_XD_HI = PTE_FIELDS.XD.mask;
/** Physical address bits in the low half of a 2 MiB PDE. */
export const PDE_2M_ADDR_LO = PDE_2M_FIELDS.ADDR_LO.mask;
/** Reserved bits of a 2 MiB PDE. */
export const PDE_2M_RSVD = PDE_2M_FIELDS.RSVD.mask;

/** Bytes per paging-structure entry. */
export const PTE_BYTES = 8;
/** Entries per paging structure (one 4 KiB page). */
export const PTES_PER_TABLE = 2 ** LINEAR_ADDRESS_FIELDS.PT.width;
/** Size of a small page, bytes. */
export const PAGE_SIZE = 2 ** LINEAR_ADDRESS_FIELDS.PT.shift;
/** Size of a large (PDE-mapped) page, bytes. */
export const HUGE_PAGE_SIZE = 2 ** LINEAR_ADDRESS_FIELDS.PD.shift;
/** Small pages per large page. */
export const PAGES_PER_HUGE = HUGE_PAGE_SIZE / PAGE_SIZE;
/** Bytes of linear address space translated by 4-level paging (2^48). */
export const LINEAR_SPACE = 2 ** (LINEAR_ADDRESS_FIELDS.PML4.shift + LINEAR_ADDRESS_FIELDS.PML4.width);
/** Levels of the walk: 4 = PML4 ... 1 = page table. */
export const PAGING_LEVELS = 4;

/**
 * Index into the paging structure of `level` (4 = PML4 .. 1 = PT) for linear
 * address `va` (a Number below 2^48; exact because it is below 2^53).
 */
export function tableIndex(va: number, level: number): number {
  // 12 + 9*(level-1) bits; shifts above 31 need division, so always divide.
  return Math.floor(va / LEVEL_SPAN[level]!) & (PTES_PER_TABLE - 1);
}

/** Bytes of linear address space one entry at each level covers, indexed by level. */
export const LEVEL_SPAN: readonly number[] = Object.freeze([
  0,
  2 ** LINEAR_ADDRESS_FIELDS.PT.shift,
  2 ** LINEAR_ADDRESS_FIELDS.PD.shift,
  2 ** LINEAR_ADDRESS_FIELDS.PDPT.shift,
  2 ** LINEAR_ADDRESS_FIELDS.PML4.shift,
]);
