/**
 * The per-vCPU software TLB and the shootdown protocol.
 *
 * The TLB is direct-mapped and lives in this vCPU's JS isolate only: TLB_SIZE
 * entries of 4 KiB translations (a read tag, a write tag valid only when the
 * leaf is writable and already dirty — as hardware caches the dirty state —
 * and the page's physical word index), plus LARGE_TLB_SIZE entries of 2 MiB
 * translations that refill the small TLB without a walk.
 *
 * Shootdown (only the AS_LOCK holder starts one): bump TLB_GEN in shared
 * memory, flush locally, send a TlbIpi to every other attached vCPU that has
 * not acknowledged the new generation, then wait until each has. A vCPU
 * acknowledges in `service()`: from its IRQ_IPI_TLB handler, at the start of
 * every TLB miss, and while it waits for any mmu lock (so a vCPU blocked on the
 * lock the initiator holds still answers). After the initiator's `shootdown()`
 * returns no vCPU uses a translation from before it.
 */
import type { MemoryViews } from './internal/memoryViews.js';
import type { LockWaiter } from './internal/spinLock.js';
import { CW, MAX_MMU_CPUS, W } from './internal/sharedLayout.js';
import type { PageTable } from './pageTable.js';
import type { TlbIpi } from './interfaces.js';
import { ACCESS, FAULT, MmuError } from './errors.js';
import { HUGE_PAGE_SIZE, PAGES_PER_HUGE, PAGE_SIZE } from './pageTableEntry.js';

/** Entries of the 4 KiB TLB (a power of two). */
export const TLB_SIZE = 1024;
/** Entries of the 2 MiB TLB (a power of two). */
export const LARGE_TLB_SIZE = 64;
/** How long a shootdown waits for one vCPU before it gives up with EBUSY, ms (1 ms waits counted). */
export const SHOOTDOWN_PATIENCE_MS = 10_000;
/** Faults resolved for one access before it is reported (guards against a mapping changing under it forever). */
const FILL_ATTEMPTS = 8;

/** Resolves a fault the walker reported (the address space's fault path). */
export interface FaultResolver {
  /** Makes `va` accessible for `access` if a mapping allows it: 0, or a negative FAULT code. */
  resolveFault(va: number, access: number): number;
}

/** One vCPU's TLB. */
export class Tlb implements LockWaiter {
  /** Virtual address of the page cached for reads at each slot (slot = page number mod TLB_SIZE), NaN if none (NaN equals nothing). */
  readonly readTag = new Float64Array(TLB_SIZE).fill(NaN);
  /** Virtual address of the page cached for writes (writable and dirty), NaN if none. */
  readonly writeTag = new Float64Array(TLB_SIZE).fill(NaN);
  /** Physical address of the page >>> 2 (an Int32Array index into memory). */
  readonly word = new Int32Array(TLB_SIZE);
  private readonly largeTag = new Float64Array(LARGE_TLB_SIZE).fill(NaN);
  private readonly largeWord = new Int32Array(LARGE_TLB_SIZE);
  private readonly largeWritable = new Uint8Array(LARGE_TLB_SIZE);
  private readonly m: MemoryViews;
  private readonly pt: PageTable;
  private readonly ipi: TlbIpi | null;
  private resolver: FaultResolver | null = null;
  private seenGen: number;
  /** Misses (walks or large-TLB refills) since creation. */
  misses = 0;
  /** Page-table walks since creation (misses the 2 MiB TLB could not refill). */
  walks = 0;

  constructor(views: MemoryViews, pt: PageTable, ipi: TlbIpi | null) {
    this.m = views;
    this.pt = pt;
    this.ipi = ipi;
    this.seenGen = Atomics.load(views.i32, views.hdr + W.TLB_GEN);
    Atomics.store(views.i32, views.cpuBlock + CW.TLB_ACK, this.seenGen);
  }

  /** Connects the fault path (set once by the address space). */
  setResolver(r: FaultResolver): void {
    this.resolver = r;
  }

  /** Drops every cached translation of this vCPU. */
  flushAll(): void {
    this.readTag.fill(NaN);
    this.writeTag.fill(NaN);
    this.largeTag.fill(NaN);
  }

  /** Acknowledges any pending shootdown (flushing first). Cheap when none is pending. */
  service(): void {
    const i32 = this.m.i32;
    const g = Atomics.load(i32, this.m.hdr + W.TLB_GEN);
    if (g === this.seenGen) return;
    this.flushAll();
    this.seenGen = g;
    const ack = this.m.cpuBlock + CW.TLB_ACK;
    Atomics.store(i32, ack, g);
    Atomics.notify(i32, ack);
  }

  /** LockWaiter: a vCPU waiting for a lock still answers shootdowns. */
  whileWaiting(): void {
    this.service();
  }

  /**
   * Loads the translation of `va` for `access` (ACCESS.*) into the TLB,
   * resolving faults through the address space. Returns 0, or a negative
   * FAULT code when no mapping allows the access.
   */
  fill(va: number, access: number): number {
    if (this.m.i32[this.m.hdr + W.TLB_GEN] !== this.seenGen) this.service();
    this.misses++;
    const vpn = Math.floor(va / PAGE_SIZE);
    const hvpn = Math.floor(va / HUGE_PAGE_SIZE);
    const li = hvpn & (LARGE_TLB_SIZE - 1);
    if (access !== ACCESS.EXEC && this.largeTag[li] === hvpn && (access === ACCESS.READ || this.largeWritable[li] === 1)) {
      this.install(vpn, this.largeWord[li]! + (vpn % PAGES_PER_HUGE) * (PAGE_SIZE / 4), this.largeWritable[li] === 1);
      return 0;
    }
    let r = 0;
    for (let attempt = 0; attempt < FILL_ATTEMPTS; attempt++) {
      this.walks++;
      r = this.pt.walk(va, access);
      if (r === 0) {
        this.install(vpn, this.pt.pagePhys >>> 2, this.pt.writeReady);
        if (this.pt.entryLevel === 2) {
          this.largeTag[li] = hvpn;
          this.largeWord[li] = this.pt.hugePhys >>> 2;
          this.largeWritable[li] = this.pt.writeReady ? 1 : 0;
        }
        return 0;
      }
      if (r === FAULT.BAD_PTE || this.resolver === null) return r;
      const walked = r;
      r = this.resolver.resolveFault(va, access);
      // A present translation that refuses the access outside any VMA (the linear map) is still ACCERR.
      if (r < 0) return walked === FAULT.ACCERR && r === FAULT.MAPERR ? FAULT.ACCERR : r;
    }
    return r < 0 ? r : FAULT.MAPERR;
  }

  private install(vpn: number, word: number, writable: boolean): void {
    const i = vpn & (TLB_SIZE - 1);
    const page = vpn * PAGE_SIZE;
    this.readTag[i] = page;
    this.word[i] = word;
    this.writeTag[i] = writable ? page : NaN;
  }

  /**
   * Makes every vCPU drop translations cached before this call and waits until
   * each has (see the file comment). Call with AS_LOCK held, after the
   * page-table change and before freeing the frames it detached. Throws
   * MmuError EBUSY if an attached vCPU never acknowledges (it is not serving
   * IRQ_IPI_TLB and has not detached).
   */
  shootdown(): void {
    const { i32, hdr } = this.m;
    const gen = Atomics.add(i32, hdr + W.TLB_GEN, 1) + 1;
    this.flushAll();
    this.seenGen = gen;
    Atomics.store(i32, this.m.cpuBlock + CW.TLB_ACK, gen);
    const self = this.m.cpu;
    const lo = Atomics.load(i32, hdr + W.CPUS_LO) & ~(self < 32 ? 1 << self : 0);
    const hi = Atomics.load(i32, hdr + W.CPUS_HI) & ~(self >= 32 ? 1 << (self - 32) : 0);
    if ((lo | hi) === 0) return; // no other vCPU: nothing to wait for
    for (let cpu = 0; cpu < MAX_MMU_CPUS; cpu++) {
      if (((cpu < 32 ? lo : hi) & (1 << (cpu & 31))) === 0) continue;
      const ack = this.m.cpuBlockOf(cpu) + CW.TLB_ACK;
      if (((Atomics.load(i32, ack) - gen) | 0) < 0 && this.ipi !== null) this.ipi.sendTlbShootdown(cpu);
    }
    // Waiters on mmu locks answer in their wait loop: wake them now.
    Atomics.notify(i32, hdr + W.PAGE_LOCK);
    Atomics.notify(i32, hdr + W.AS_LOCK);
    for (let cpu = 0; cpu < MAX_MMU_CPUS; cpu++) {
      if (((cpu < 32 ? lo : hi) & (1 << (cpu & 31))) === 0) continue;
      const ack = this.m.cpuBlockOf(cpu) + CW.TLB_ACK;
      for (let waited = 0; ; waited++) {
        const seen = Atomics.load(i32, ack);
        if (((seen - gen) | 0) >= 0 || !this.attached(cpu)) break;
        if (waited >= SHOOTDOWN_PATIENCE_MS) {
          throw new MmuError('EBUSY', `TLB shootdown: vCPU ${cpu} did not acknowledge within ${SHOOTDOWN_PATIENCE_MS} ms — it must run Mmu.serviceTlbShootdown() on IRQ_IPI_TLB, or detach()`);
        }
        Atomics.wait(i32, ack, seen, 1);
      }
    }
  }

  /** True if vCPU `cpu` is attached to this mmu. */
  attached(cpu: number): boolean {
    const w = cpu < 32 ? W.CPUS_LO : W.CPUS_HI;
    return (Atomics.load(this.m.i32, this.m.hdr + w) & (1 << (cpu & 31))) !== 0;
  }
}
