/**
 * One vCPU per worker thread without the hv: the worker attaches to the
 * scheduler area in a SharedArrayBuffer, runs one CPU with Node's clock (on a
 * common origin) and the Atomics idle on the area's WAKE words, so CPUs in
 * different workers wake each other exactly as hv vCPUs do.
 */
import { Scheduler } from '../scheduler.js';
import { AtomicsIdle } from '../atomicsIdle.js';
import { CPU_LAYOUT } from '../internal/sharedLayout.js';
import { SharedArea } from '../internal/sharedArea.js';
import { nodeClock } from './nodeClock.js';

/** What a worker needs to join the area. */
export interface WorkerCpuOptions {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset?: number;
  /** The CPU this worker runs. */
  readonly cpu: number;
  /** The process-wide clock origin (clockOrigin() in the parent). */
  readonly clockOrigin: bigint;
  /** Spin-poll budget before Atomics.wait, ns (default DEFAULT_POLL_NS). */
  readonly pollNs?: number;
  /** Run the balancer (default true). */
  readonly balance?: boolean;
}

/** Attaches a Scheduler for one CPU in this worker; call `runCpu()` on it. */
export function attachWorkerCpu(opts: WorkerCpuOptions): Scheduler {
  const clock = nodeClock(opts.clockOrigin);
  const byteOffset = opts.byteOffset ?? 0;
  const area = SharedArea.open(opts.buffer, byteOffset);
  const wake = (c: number): number => area.cpuWord(c, CPU_LAYOUT.WAKE.offset);
  const idle = new AtomicsIdle({ view: area.i32, wakeIndex: wake }, clock, opts.pollNs);
  return Scheduler.attach({
    buffer: opts.buffer,
    byteOffset,
    localCpus: [opts.cpu],
    clock,
    idle,
    ipi: idle,
    balance: opts.balance ?? true,
  });
}
