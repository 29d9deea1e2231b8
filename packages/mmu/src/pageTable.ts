/**
 * x86-64 4-level page tables in guest memory (formats in pageTableEntry.ts).
 * Two roles:
 *  - the hardware walker (`walk`), which every vCPU runs without a lock on a
 *    TLB miss: it checks permissions across all levels, sets the accessed bit
 *    on every level and the dirty bit on a write with a compare-and-swap as the
 *    processor does, and validates each entry so that whatever a guest wrote
 *    into a paging structure it never reads outside memory and always ends
 *    after four levels;
 *  - the editor mmu's address-space code uses with AS_LOCK held: create
 *    intermediate tables, split a 2 MiB leaf, find the next mapped leaf of a
 *    range, and prune tables a range change left empty.
 * Frames that must not be reused before a TLB shootdown (unmapped pages,
 * emptied tables) are not freed here: they are pushed on a FrameBatch.
 */
import type { MemoryViews } from './internal/memoryViews.js';
import { FRAME_KIND, FW, W } from './internal/sharedLayout.js';
import { ACCESS, FAULT } from './errors.js';
import type { PageAllocator } from './pageAllocator.js';
import type { FrameBatch } from './internal/frameBatch.js';
import {
  HUGE_PAGE_SIZE,
  LEVEL_SPAN,
  PAGES_PER_HUGE,
  PAGE_SIZE,
  PDE_2M_ADDR_LO,
  PDE_2M_FIELDS,
  PDE_2M_RSVD,
  PTES_PER_TABLE,
  PTE_A,
  PTE_ADDR_HI,
  PTE_ADDR_LO,
  PTE_BYTES,
  PTE_D,
  PTE_P,
  PTE_PS,
  PTE_RW,
  PTE_SW_KEPT,
  PTE_US,
  PTE_XD_HI,
  tableIndex,
} from './pageTableEntry.js';

const PAT_2M = PDE_2M_FIELDS.PAT.mask;
/** Bits a table-pointer entry gets: permissions are restricted at the leaves. */
const TABLE_ENTRY_BITS = PTE_P | PTE_RW | PTE_US;
/** Retries of an accessed/dirty compare-and-swap before the walk gives up. */
const AD_RETRIES = 16;

/** One vCPU's page-table walker and editor over the shared tables. */
export class PageTable {
  private readonly m: MemoryViews;
  private readonly i32: Int32Array;
  private readonly pages: PageAllocator;
  private readonly bytes: number;
  /** Physical address of the PML4 (CR3). */
  root = 0;

  // Results of walk()/lookup()/nextLeaf(), valid until the next call (no allocation per walk).
  /** Physical address of the leaf entry found (or of the non-present entry). */
  entryAddr = 0;
  /** Level of that entry: 1 = PTE (4 KiB), 2 = PDE (2 MiB leaf or table pointer), ... */
  entryLevel = 0;
  /** walk(): physical address of the 4 KiB page holding the address. */
  pagePhys = 0;
  /** walk(): physical address of the 2 MiB page when entryLevel is 2. */
  hugePhys = 0;
  /** walk(): the leaf allows writes and its dirty bit is set (a write needs no walk). */
  writeReady = false;

  constructor(views: MemoryViews, pages: PageAllocator) {
    this.m = views;
    this.i32 = views.i32;
    this.pages = pages;
    this.bytes = views.bytes;
  }

  /** Loads the root from the header. */
  attach(): void {
    this.root = this.m.h(W.PML4) >>> 0;
  }

  /**
   * The hardware walk for `access` (ACCESS.*) at `va`. Returns 0 and fills
   * pagePhys/hugePhys/entryLevel/writeReady, or a negative FAULT code:
   * MAPERR (an entry on the way is not present; entryAddr/entryLevel name it),
   * ACCERR (present but the access is not allowed), BAD_PTE (an entry points
   * outside memory or sets reserved bits).
   */
  walk(va: number, access: number): number {
    for (let attempt = 0; attempt < AD_RETRIES; attempt++) {
      const r = this.walkOnce(va, access);
      if (r !== 1) return r;
    }
    return FAULT.BAD_PTE;
  }

  /** One walk; 1 means an accessed/dirty CAS lost a race and the walk must restart. */
  private walkOnce(va: number, access: number): number {
    const i32 = this.i32;
    let table = this.root;
    let writable = PTE_RW;
    let noExec = 0;
    for (let level = 4; level >= 1; level--) {
      const ea = table + tableIndex(va, level) * PTE_BYTES;
      const wi = ea >>> 2;
      const low = Atomics.load(i32, wi);
      const high = i32[wi + 1]!;
      this.entryAddr = ea;
      this.entryLevel = level;
      if ((low & PTE_P) === 0) return FAULT.MAPERR;
      if ((high & PTE_ADDR_HI) !== 0) return FAULT.BAD_PTE;
      writable &= low;
      noExec |= high & PTE_XD_HI;
      const leaf = level === 1 || (level === 2 && (low & PTE_PS) !== 0);
      if (!leaf) {
        if ((low & PTE_PS) !== 0) return FAULT.BAD_PTE; // 1 GiB pages are not offered
        table = (low & PTE_ADDR_LO) >>> 0;
        if (table + PAGE_SIZE > this.bytes) return FAULT.BAD_PTE;
        if ((low & PTE_A) === 0 && Atomics.compareExchange(i32, wi, low, low | PTE_A) !== low) return 1;
        continue;
      }
      let base: number;
      if (level === 2) {
        if ((low & PDE_2M_RSVD) !== 0) return FAULT.BAD_PTE;
        base = (low & PDE_2M_ADDR_LO) >>> 0;
        if (base + HUGE_PAGE_SIZE > this.bytes) return FAULT.BAD_PTE;
        this.hugePhys = base;
        this.pagePhys = base + (Math.floor(va / PAGE_SIZE) % PAGES_PER_HUGE) * PAGE_SIZE;
      } else {
        base = (low & PTE_ADDR_LO) >>> 0;
        if (base + PAGE_SIZE > this.bytes) return FAULT.BAD_PTE;
        this.pagePhys = base;
      }
      if ((access & ACCESS.WRITE) !== 0 && writable === 0) return FAULT.ACCERR;
      if ((access & ACCESS.EXEC) !== 0 && noExec !== 0) return FAULT.ACCERR;
      const want = (access & ACCESS.WRITE) !== 0 ? PTE_A | PTE_D : PTE_A;
      if ((low & want) !== want && Atomics.compareExchange(i32, wi, low, low | want) !== low) return 1;
      this.writeReady = writable !== 0 && ((low | want) & PTE_D) !== 0;
      return 0;
    }
    return FAULT.BAD_PTE; // unreachable: level 1 is always a leaf
  }

  /**
   * Finds va's leaf without side effects (AS_LOCK held). Returns the level of
   * the present leaf (1 or 2) with entryAddr set; 0 when an entry is not
   * present (entryAddr/entryLevel name it, and a level-1 entry may carry
   * SW_KEPT); FAULT.BAD_PTE for an entry that points outside memory.
   */
  lookup(va: number): number {
    const i32 = this.i32;
    let table = this.root;
    for (let level = 4; level >= 1; level--) {
      const ea = table + tableIndex(va, level) * PTE_BYTES;
      const low = i32[ea >>> 2]!;
      this.entryAddr = ea;
      this.entryLevel = level;
      if ((low & PTE_P) === 0) return 0;
      if ((i32[(ea >>> 2) + 1]! & PTE_ADDR_HI) !== 0) return FAULT.BAD_PTE;
      if (level === 1) return this.leafInMemory(low, PAGE_SIZE, PTE_ADDR_LO) ? 1 : FAULT.BAD_PTE;
      if ((low & PTE_PS) !== 0) {
        if (level !== 2 || (low & PDE_2M_RSVD) !== 0) return FAULT.BAD_PTE;
        return this.leafInMemory(low, HUGE_PAGE_SIZE, PDE_2M_ADDR_LO) ? 2 : FAULT.BAD_PTE;
      }
      table = (low & PTE_ADDR_LO) >>> 0;
      if (table + PAGE_SIZE > this.bytes) return FAULT.BAD_PTE;
    }
    return FAULT.BAD_PTE;
  }

  private leafInMemory(low: number, size: number, mask: number): boolean {
    return ((low & mask) >>> 0) + size <= this.bytes;
  }

  /** Low word of the entry at physical address `ea`. */
  low(ea: number): number {
    return this.i32[ea >>> 2]!;
  }

  /** High word of the entry at `ea`. */
  high(ea: number): number {
    return this.i32[(ea >>> 2) + 1]!;
  }

  /** Writes an entry (high half first, so a walker never sees a new P with an old XD). */
  set(ea: number, low: number, high: number): void {
    Atomics.store(this.i32, (ea >>> 2) + 1, high);
    Atomics.store(this.i32, ea >>> 2, low);
  }

  /** Clears an entry. */
  clear(ea: number): void {
    Atomics.store(this.i32, ea >>> 2, 0);
    Atomics.store(this.i32, (ea >>> 2) + 1, 0);
  }

  /** Allocates a zeroed paging structure: its physical address, or FAULT.NOMEM. */
  newTable(): number {
    const pfn = this.pages.allocPage(FRAME_KIND.PAGE_TABLE);
    if (pfn < 0) return FAULT.NOMEM;
    const pa = pfn * PAGE_SIZE;
    this.m.zero(pa, PAGE_SIZE);
    this.m.stat(W.PT_PAGES, 1);
    return pa;
  }

  /**
   * Returns the physical address of va's entry at `level` (1 = PTE, 2 = PDE),
   * creating the tables above it, or a negative FAULT code (NOMEM, BAD_PTE).
   * A 2 MiB leaf met on the way to level 1 is split. AS_LOCK held.
   */
  ensureEntry(va: number, level: number): number {
    let table = this.root;
    for (let l = 4; l > level; l--) {
      const ea = table + tableIndex(va, l) * PTE_BYTES;
      let low = this.low(ea);
      if ((low & PTE_P) === 0) {
        const t = this.newTable();
        if (t < 0) return t;
        this.set(ea, t | TABLE_ENTRY_BITS, 0);
        low = t | TABLE_ENTRY_BITS;
      } else if ((low & PTE_PS) !== 0) {
        if (l !== 2) return FAULT.BAD_PTE;
        const r = this.splitHuge(ea);
        if (r < 0) return r;
        low = this.low(ea);
      }
      if ((this.high(ea) & PTE_ADDR_HI) !== 0) return FAULT.BAD_PTE;
      table = (low & PTE_ADDR_LO) >>> 0;
      if (table + PAGE_SIZE > this.bytes) return FAULT.BAD_PTE;
    }
    return table + tableIndex(va, level) * PTE_BYTES;
  }

  /**
   * Replaces the 2 MiB leaf at PDE `pdeAddr` by a page table of 512 entries
   * with the same bits and frames; the 2 MiB frame block becomes 512 single
   * frames, each holding the block's reference count. Translations do not
   * change, so no shootdown is needed. Returns 0 or FAULT.NOMEM. AS_LOCK held.
   */
  splitHuge(pdeAddr: number): number {
    const low = this.low(pdeAddr);
    const high = this.high(pdeAddr);
    const t = this.newTable();
    if (t < 0) return t;
    const base = (low & PDE_2M_ADDR_LO) >>> 0;
    const bits = (low & (PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D | PTE_SW_KEPT)) | ((low & PAT_2M) !== 0 ? PTE_PS : 0);
    const headPfn = base / PAGE_SIZE;
    const owned = this.pages.isAllocated(headPfn);
    const ref = owned ? this.pages.refCount(headPfn) : 0;
    const kind = owned ? this.pages.kindOf(headPfn) : 0;
    for (let i = 0; i < PTES_PER_TABLE; i++) {
      const pa = base + i * PAGE_SIZE;
      this.set(t + i * PTE_BYTES, pa | bits, high);
      if (owned) {
        this.pages.setInfo(headPfn + i, kind, 0);
        this.i32[this.pages.frame(headPfn + i) + FW.REF] = ref;
      }
    }
    this.set(pdeAddr, t | TABLE_ENTRY_BITS, 0);
    this.m.stat(W.HUGE_LEAVES, -1);
    return 0;
  }

  /**
   * The first leaf (present, or a level-1 entry with SW_KEPT) whose range
   * meets [va, end): returns the leaf's first virtual address (which may lie
   * below va for a 2 MiB leaf) with entryAddr/entryLevel set, or -1. Entries
   * pointing outside memory are skipped and counted in CORRUPT. AS_LOCK held.
   */
  nextLeaf(va: number, end: number): number {
    const i32 = this.i32;
    outer: while (va < end) {
      let table = this.root;
      for (let level = 4; level >= 1; level--) {
        const span = LEVEL_SPAN[level]!;
        const ea = table + tableIndex(va, level) * PTE_BYTES;
        const low = i32[ea >>> 2]!;
        const start = va - (va % span);
        this.entryAddr = ea;
        this.entryLevel = level;
        const present = (low & PTE_P) !== 0;
        if (level === 1 && low === 0 && i32[(ea >>> 2) + 1] === 0) {
          // Scan the rest of this page table in place rather than walking from the root per page.
          const next = this.scanTable(table, va, end);
          if (next < 0) {
            va = start - (start % LEVEL_SPAN[2]!) + LEVEL_SPAN[2]!;
            continue outer;
          }
          va = next;
          continue outer;
        }
        if (level === 1 && (present || (low & PTE_SW_KEPT) !== 0)) {
          if (this.leafInMemory(low, PAGE_SIZE, PTE_ADDR_LO) && (i32[(ea >>> 2) + 1]! & PTE_ADDR_HI) === 0) return start;
        } else if (present && level === 2 && (low & PTE_PS) !== 0) {
          if ((low & PDE_2M_RSVD) === 0 && this.leafInMemory(low, HUGE_PAGE_SIZE, PDE_2M_ADDR_LO)) return start;
        } else if (present && (low & PTE_PS) === 0 && level > 1) {
          table = (low & PTE_ADDR_LO) >>> 0;
          if (table + PAGE_SIZE <= this.bytes && (i32[(ea >>> 2) + 1]! & PTE_ADDR_HI) === 0) continue;
        } else if (!present && (low | i32[(ea >>> 2) + 1]!) === 0) {
          va = start + span;
          continue outer;
        }
        if (present || (low & PTE_SW_KEPT) !== 0) this.m.stat(W.CORRUPT, 1);
        va = start + span; // a corrupt or stray entry: skip what it covers
        continue outer;
      }
    }
    return -1;
  }

  /** First page at or after va (and before end) whose entry in page table `table` is not zero; -1 if none in this table. */
  private scanTable(table: number, va: number, end: number): number {
    const i32 = this.i32;
    let idx = tableIndex(va, 1);
    let page = va - (va % PAGE_SIZE);
    for (; idx < PTES_PER_TABLE && page < end; idx++, page += PAGE_SIZE) {
      const w = (table >>> 2) + idx * 2;
      if (i32[w] !== 0 || i32[w + 1] !== 0) return page;
    }
    return page < end ? -1 : end;
  }

  /**
   * Frees the paging structures below the root that the change to [start,
   * end) left without use, clearing the entries that pointed at them; the
   * frames go on `batch` (freed after the shootdown). With `mapped` (the VMA
   * list), a structure is unused when no mapping overlaps the range it covers
   * — Linux's rule, an O(log n) question instead of a scan; without it (the
   * debug heap, one VMA for the whole region), when all its entries are zero.
   * AS_LOCK held.
   */
  prune(start: number, end: number, batch: FrameBatch, mapped: RangeOccupancy | null): void {
    this.pruneLevel(this.root, 4, 0, start, end, batch, mapped);
  }

  private pruneLevel(table: number, level: number, base: number, start: number, end: number, batch: FrameBatch, mapped: RangeOccupancy | null): void {
    const span = LEVEL_SPAN[level]!;
    const first = Math.max(0, Math.floor((start - base) / span));
    const last = Math.min(PTES_PER_TABLE - 1, Math.floor((end - 1 - base) / span));
    for (let i = first; i <= last; i++) {
      const ea = table + i * PTE_BYTES;
      const child = this.childTable(ea, level);
      if (child < 0) continue;
      const childBase = base + i * span;
      if (mapped !== null && mapped.isFree(childBase, childBase + span)) {
        this.freeSubtree(child, level - 1, batch);
        this.clear(ea);
        continue;
      }
      if (level > 2) this.pruneLevel(child, level - 1, childBase, start, end, batch, mapped);
      if (mapped === null && this.tableEmpty(child)) {
        this.clear(ea);
        batch.push(child / PAGE_SIZE);
        this.m.stat(W.PT_PAGES, -1);
      }
    }
  }

  /** The paging structure the entry at `ea` (at `level` > 1) points to, or -1 (leaf, absent, or not a table frame). */
  private childTable(ea: number, level: number): number {
    const low = this.low(ea);
    if (level === 1 || (low & PTE_P) === 0 || (low & PTE_PS) !== 0) return -1;
    const child = (low & PTE_ADDR_LO) >>> 0;
    if (child + PAGE_SIZE > this.bytes || (this.high(ea) & PTE_ADDR_HI) !== 0 || this.pages.kindOf(child / PAGE_SIZE) !== FRAME_KIND.PAGE_TABLE) {
      this.m.stat(W.CORRUPT, 1);
      return -1;
    }
    return child;
  }

  /** Queues the structure at `table` (of `level`) and every structure below it for freeing. */
  private freeSubtree(table: number, level: number, batch: FrameBatch): void {
    if (level > 1) {
      for (let i = 0; i < PTES_PER_TABLE; i++) {
        if (this.i32[(table >>> 2) + i * 2] === 0) continue;
        const child = this.childTable(table + i * PTE_BYTES, level);
        if (child >= 0) this.freeSubtree(child, level - 1, batch);
      }
    }
    batch.push(table / PAGE_SIZE);
    this.m.stat(W.PT_PAGES, -1);
  }

  private tableEmpty(table: number): boolean {
    for (let i = 0; i < PTES_PER_TABLE * 2; i++) if (this.i32[(table >>> 2) + i] !== 0) return false;
    return true;
  }
}

/** Whether any mapping overlaps a range (the VMA list answers it). */
export interface RangeOccupancy {
  /** True if no mapping meets [start, end). */
  isFree(start: number, end: number): boolean;
}
