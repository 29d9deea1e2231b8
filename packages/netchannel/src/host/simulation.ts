/// <reference types="node" />
/**
 * Driving simulated time from Node (tests and benchmarks): fire VirtualClock
 * timers one at a time and let promise jobs (socket waiters, channel drains)
 * run between them, so application code written with async/await interleaves
 * with the network exactly as it would on a real clock — only faster.
 */
import type { VirtualClock } from '../virtualClock.js';

/** Lets every pending promise job and immediate run. */
export function flushJobs(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs the simulation until `done()` holds, firing timers in order and
 * flushing jobs after each. Throws Error if `limitMs` of virtual time pass first.
 */
export async function runUntil(clock: VirtualClock, done: () => boolean, limitMs = 600_000): Promise<void> {
  const end = clock.now() + limitMs;
  await flushJobs();
  while (!done()) {
    if (!clock.runNext(end)) throw new Error(`simulation: condition not met within ${limitMs} ms of virtual time`);
    await flushJobs();
  }
}

/** Advances virtual time by `ms`, flushing jobs after every timer. */
export async function runFor(clock: VirtualClock, ms: number): Promise<void> {
  const end = clock.now() + ms;
  await flushJobs();
  while (clock.runNext(end)) await flushJobs();
  clock.advance(end - clock.now());
  await flushJobs();
}

/** Awaits `p` while running the simulation; throws if it does not settle within `limitMs` of virtual time. */
export async function settle<T>(clock: VirtualClock, p: Promise<T>, limitMs = 600_000): Promise<T> {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  let failed = false;
  p.then(
    (v) => {
      done = true;
      value = v;
    },
    (e: unknown) => {
      done = true;
      failed = true;
      error = e;
    },
  );
  await runUntil(clock, () => done, limitMs);
  if (failed) throw error;
  return value as T;
}
