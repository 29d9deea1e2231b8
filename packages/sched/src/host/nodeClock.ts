/**
 * The scheduler's clock in a Node process: performance.now() (the cheapest
 * monotonic high-resolution read, about 45 ns here) moved onto a common origin
 * so every worker thread of the process reads the same time. Each thread's
 * performance.now() has its own zero; the offset to `origin` (a
 * process.hrtime.bigint() value taken once and handed to every worker) is
 * measured once per thread, against the same underlying monotonic clock.
 */
import { performance } from 'node:perf_hooks';
import type { Clock } from '../interfaces.js';

/** A process-wide clock origin: pass it to every worker that shares a scheduler area. */
export function clockOrigin(): bigint {
  return process.hrtime.bigint();
}

/** A monotonic clock in ns since `origin` (default: now). */
export function nodeClock(origin: bigint = clockOrigin()): Clock {
  const offset = Number(process.hrtime.bigint() - origin) - performance.now() * 1e6;
  return { nowNs: () => performance.now() * 1e6 + offset };
}
