/**
 * The scheduler in a plain Node process: one CPU on the main thread, Node's
 * clock, an idle that lets the event loop run. For tests and for anyone who
 * wants a fair green-thread scheduler without the hv.
 */
import { Scheduler } from '../scheduler.js';
import type { ThreadBody } from '../internal/threadControl.js';
import { AsyncIdle } from './asyncIdle.js';
import { nodeClock } from './nodeClock.js';

/** Options of a host scheduler. */
export interface HostSchedulerOptions {
  /** Thread slots (default 4096). */
  readonly threads?: number;
  /** Synchronisation blocks (default 4096). */
  readonly syncObjects?: number;
  /** Preemption points between clock reads (default 32). */
  readonly preemptCheckEvery?: number;
  /** What a detached thread threw (default: an unhandled rejection). */
  readonly onThreadError?: (error: unknown, tid: number) => void;
}

/** A one-CPU scheduler for this thread; call `runCpu()` to start it and `stop()` to end it. */
export function createHostScheduler(opts: HostSchedulerOptions = {}): Scheduler {
  const clock = nodeClock();
  const idle = new AsyncIdle(clock);
  return Scheduler.create({
    cpus: 1,
    clock,
    idle,
    ipi: idle,
    balance: false,
    ...(opts.threads === undefined ? {} : { threads: opts.threads }),
    ...(opts.syncObjects === undefined ? {} : { syncObjects: opts.syncObjects }),
    ...(opts.preemptCheckEvery === undefined ? {} : { preemptCheckEvery: opts.preemptCheckEvery }),
    ...(opts.onThreadError === undefined ? {} : { onThreadError: opts.onThreadError }),
  });
}

/**
 * Runs `main` as a green thread on a fresh host scheduler and resolves with
 * what it returns (or rejects with what it throws) once it has finished and
 * the CPU stopped. Threads it spawned and left running are abandoned.
 */
export async function runMain<T>(main: (sched: Scheduler) => T | Promise<T>, opts: HostSchedulerOptions = {}): Promise<T> {
  const sched = createHostScheduler(opts);
  let value: unknown;
  let failed = false;
  const body: ThreadBody = async () => {
    try {
      value = await main(sched);
    } catch (e) {
      value = e;
      failed = true;
    }
    sched.stop();
  };
  sched.spawn(body, { name: 'main' }).detach();
  await sched.runCpu();
  if (failed) throw value;
  return value as T;
}
