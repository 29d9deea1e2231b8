/**
 * The idle and IPI pair for a CPU that owns its JavaScript thread (a worker,
 * or an hv vCPU): spin-poll briefly, then Atomics.wait on the CPU's wake word
 * with the next timer deadline as timeout; an IPI bumps the word and notifies.
 * Uses only ECMAScript built-ins, so guest code may use it. Atomics.wait blocks
 * the whole thread: do not use it on a thread whose host event loop must keep
 * running (use `AsyncIdle` from `@osv-ts/sched/host` there).
 */
import type { Clock, CpuIdle, IpiSender } from './interfaces.js';

/** Where the wake words live (and, optionally, an interrupt bit to raise with each IPI). */
export interface WakeWords {
  /** The array holding each CPU's wake word. */
  readonly view: Int32Array;
  /** Index in `view` of CPU `cpu`'s wake word. */
  wakeIndex(cpu: number): number;
  /** On the hv: the vCPU's IRQ_PENDING word and the IRQ_IPI_WAKE bit, set before the wake word is bumped. */
  readonly irq?: { readonly view: Int32Array; index(cpu: number): number; readonly bit: number };
}

/** Default spin-poll budget before sleeping, ns: long enough to catch a ping-pong partner's reply. */
export const DEFAULT_POLL_NS = 20_000;

/** CpuIdle and IpiSender over Atomics.wait / Atomics.notify. */
export class AtomicsIdle implements CpuIdle, IpiSender {
  /**
   * `pollNs` is the spin budget (default DEFAULT_POLL_NS). `poll`, if given,
   * is called on each polling round (the kernel services pending interrupts
   * there) and returns true when it did something.
   */
  constructor(
    private readonly words: WakeWords,
    private readonly clock: Clock,
    readonly pollNs: number = DEFAULT_POLL_NS,
    private readonly pollHook?: (cpu: number) => boolean,
  ) {}

  /** Services pending interrupts through the hook given to the constructor. */
  poll(cpu: number): boolean {
    return this.pollHook !== undefined && this.pollHook(cpu);
  }

  /** The wake word's current value. */
  prepareSleep(cpu: number): number {
    return Atomics.load(this.words.view, this.words.wakeIndex(cpu));
  }

  /** Blocks in Atomics.wait until the wake word moves from `token`, or the deadline. */
  sleep(cpu: number, token: number, deadlineNs: number): void {
    let ms = Number.POSITIVE_INFINITY;
    if (deadlineNs !== Number.POSITIVE_INFINITY) {
      const left = deadlineNs - this.clock.nowNs();
      if (left <= 0) return;
      ms = left / 1e6;
    }
    Atomics.wait(this.words.view, this.words.wakeIndex(cpu), token, ms);
  }

  /** Raises the interrupt bit (if configured), bumps CPU `cpu`'s wake word and notifies its waiter. */
  sendWake(cpu: number): void {
    const w = this.words;
    if (w.irq !== undefined) Atomics.or(w.irq.view, w.irq.index(cpu), 1 << w.irq.bit);
    const i = w.wakeIndex(cpu);
    Atomics.add(w.view, i, 1);
    Atomics.notify(w.view, i, 1);
  }
}
