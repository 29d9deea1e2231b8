/**
 * The shrinker API and the reclaimer (OSv's include/osv/shrinker.h and
 * memory::reclaimer). A cache registers `(targetBytes, hard) => freedBytes`
 * and grows into free memory; when free memory falls below the low watermark
 * (10% of RAM) the reclaimer asks the shrinkers, in registration order, for
 * the difference. An allocation that fails runs the hard path synchronously:
 * drain every CPU's page cache, ask this vCPU's shrinkers with `hard` set, and
 * if they cannot help while shrinkers exist on other vCPUs, post the need in
 * RECLAIM_WANT and wait (bounded) for those vCPUs' reclaimer threads to free
 * memory. Only if all of that fails is the allocation out of memory.
 *
 * Shrinkers are JS functions and so live on the vCPU that registered them;
 * the shared SHRINKERS count tells every vCPU whether any exist elsewhere.
 */
import type { MemoryViews } from './internal/memoryViews.js';
import { W } from './internal/sharedLayout.js';
import type { PageAllocator } from './pageAllocator.js';
import type { ShrinkerFn } from './interfaces.js';
import { PAGE_SIZE } from './pageTableEntry.js';

/** Fraction of RAM below which the reclaimer runs. */
export const LOW_WATERMARK_FRACTION = 0.1;
/** How long a blocked allocation waits for other vCPUs' reclaimers, ms. */
export const REMOTE_RECLAIM_WAIT_MS = 200;

/** A registered shrinker; `unregister()` removes it. */
export interface Shrinker {
  /** The name it was registered under (for statistics and logs). */
  readonly name: string;
  /** Bytes it has freed so far. */
  readonly freedBytes: number;
  /** Removes the shrinker. */
  unregister(): void;
}

/** What the kernel's reclaimer thread gives `Reclaimer.run`. */
export interface ReclaimerHooks {
  /**
   * Resolves when there may be work: after the PRESSURE word (an index into
   * the shared Int32Array, see `Reclaimer.pressureWord`) changes from `seen`,
   * or after a while. On the hv: a sched wait with a timeout.
   */
  waitForPressure(seen: number): Promise<void>;
  /** True when the thread should end. */
  stopped(): boolean;
}

class Entry implements Shrinker {
  freedBytes = 0;
  constructor(
    readonly name: string,
    readonly fn: ShrinkerFn,
    private readonly owner: Reclaimer,
  ) {}
  unregister(): void {
    this.owner.remove(this);
  }
}

/** One vCPU's shrinker registry and reclaimer. */
export class Reclaimer {
  private readonly m: MemoryViews;
  private readonly pages: PageAllocator;
  private readonly shrinkers: Entry[] = [];
  private running = false;

  constructor(views: MemoryViews, pages: PageAllocator) {
    this.m = views;
    this.pages = pages;
  }

  /** Registers a shrinker on this vCPU. Throws TypeError for a non-function. */
  register(name: string, fn: ShrinkerFn): Shrinker {
    if (typeof fn !== 'function') throw new TypeError(`shrinker ${name}: not a function`);
    const e = new Entry(name, fn, this);
    this.shrinkers.push(e);
    this.m.hadd(W.SHRINKERS, 1);
    return e;
  }

  /** Removes a shrinker (called by Shrinker.unregister). */
  remove(e: Entry): void {
    const i = this.shrinkers.indexOf(e);
    if (i < 0) return;
    this.shrinkers.splice(i, 1);
    this.m.hadd(W.SHRINKERS, -1);
  }

  /** Low watermark, bytes. */
  lowWatermarkBytes(): number {
    return this.m.h(W.LOW_WATERMARK) * PAGE_SIZE;
  }

  /** Bytes below the low watermark (0 when free memory is above it). */
  deficitBytes(): number {
    return Math.max(0, this.m.h(W.LOW_WATERMARK) - this.pages.freePages()) * PAGE_SIZE;
  }

  /** Index in the shared Int32Array of the PRESSURE word (bumped and notified when free memory runs low). */
  pressureWord(): number {
    return this.m.hdr + W.PRESSURE;
  }

  /** Asks this vCPU's shrinkers for `target` bytes; returns what they freed. */
  shrink(target: number, hard: boolean): number {
    if (this.running) return 0; // a shrinker that allocates must not recurse into shrinking
    this.running = true;
    let freed = 0;
    try {
      for (const s of this.shrinkers.slice()) {
        if (freed >= target) break;
        const got = s.fn(target - freed, hard);
        if (typeof got === 'number' && got > 0) {
          freed += got;
          s.freedBytes += got;
        }
      }
    } finally {
      this.running = false;
    }
    return freed;
  }

  /**
   * One soft reclaimer round: serve a blocked allocation's request from another
   * vCPU (hard) or, below the watermark, ask for the deficit. Returns bytes freed.
   */
  step(): number {
    const want = Atomics.load(this.m.i32, this.m.hdr + W.RECLAIM_WANT);
    if (want > 0 && this.shrinkers.length > 0) {
      const freed = this.shrink(want * PAGE_SIZE, true);
      if (freed > 0) Atomics.compareExchange(this.m.i32, this.m.hdr + W.RECLAIM_WANT, want, 0);
      return freed;
    }
    const deficit = this.deficitBytes();
    return deficit > 0 ? this.shrink(deficit, false) : 0;
  }

  /**
   * The reclaimer thread's body, for the kernel to run in a sched thread on
   * each vCPU that has shrinkers: a step whenever there is pressure.
   */
  async run(hooks: ReclaimerHooks): Promise<void> {
    while (!hooks.stopped()) {
      const seen = Atomics.load(this.m.i32, this.pressureWord());
      const freed = this.step();
      if (freed === 0 || this.deficitBytes() === 0) await hooks.waitForPressure(seen);
    }
  }

  /**
   * The synchronous path for a blocked allocation of `pages` pages: true if
   * memory was freed (the caller retries), false if it is out of memory.
   */
  reclaimForAllocation(pages: number): boolean {
    const before = this.pages.freePages();
    if (this.pages.drainAllCaches() > 0) return true;
    const target = Math.max(this.deficitBytes(), pages * PAGE_SIZE);
    if (this.shrink(target, true) > 0) return true;
    const remote = Atomics.load(this.m.i32, this.m.hdr + W.SHRINKERS) - this.shrinkers.length;
    if (remote > 0) return this.waitForRemote(Math.max(pages, Math.ceil(this.deficitBytes() / PAGE_SIZE)), before);
    return false;
  }

  /** Posts a hard request for other vCPUs' reclaimers and waits for free memory to grow. */
  private waitForRemote(pages: number, before: number): boolean {
    const i32 = this.m.i32;
    Atomics.store(i32, this.m.hdr + W.RECLAIM_WANT, pages);
    Atomics.add(i32, this.pressureWord(), 1);
    Atomics.notify(i32, this.pressureWord());
    for (let waited = 0; waited < REMOTE_RECLAIM_WAIT_MS; waited++) {
      this.m.waiter.whileWaiting();
      if (this.pages.freePages() > before) return true;
      Atomics.wait(i32, this.m.hdr + W.RECLAIM_WANT, pages, 1);
    }
    Atomics.compareExchange(i32, this.m.hdr + W.RECLAIM_WANT, pages, 0);
    return this.pages.freePages() > before;
  }
}
