/**
 * The idle for a CPU that shares its thread with Node's event loop (a plain
 * Node process, or any thread that must keep serving I/O callbacks): sleeping
 * is a promise that resolves on a setTimeout at the next deadline or on a wake
 * IPI, so host callbacks (I/O, hostAwait) run while the CPU is idle.
 */
import type { CpuIdle, IpiSender } from '../interfaces.js';
import type { Clock } from '../interfaces.js';

/** CpuIdle and IpiSender for event-loop threads. One instance serves the CPUs of one isolate. */
export class AsyncIdle implements CpuIdle, IpiSender {
  private readonly tokens = new Map<number, number>();
  private readonly sleepers = new Map<number, () => void>();

  /** `pollNs`: spin budget before sleeping (default 0: other CPUs' wakes also arrive as IPIs). */
  constructor(
    private readonly clock: Clock,
    readonly pollNs = 0,
  ) {}

  /** The CPU's wake token. */
  prepareSleep(cpu: number): number {
    return this.tokens.get(cpu) ?? 0;
  }

  /** Resolves on a wake, or at `deadlineNs`. */
  sleep(cpu: number, token: number, deadlineNs: number): void | Promise<void> {
    if ((this.tokens.get(cpu) ?? 0) !== token) return;
    const left = deadlineNs - this.clock.nowNs();
    if (left <= 0) return;
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        this.sleepers.delete(cpu);
        resolve();
      };
      this.sleepers.set(cpu, done);
      if (deadlineNs !== Number.POSITIVE_INFINITY) timer = setTimeout(done, Math.min(2 ** 31 - 1, Math.ceil(left / 1e6)));
    });
  }

  /** Ends CPU `cpu`'s sleep. Works only within this isolate (a CPU of another thread needs an AtomicsIdle). */
  sendWake(cpu: number): void {
    this.tokens.set(cpu, ((this.tokens.get(cpu) ?? 0) + 1) | 0);
    this.sleepers.get(cpu)?.();
  }
}
