/**
 * Parent side of the worker workloads: formats the scheduler area, starts one
 * worker per CPU, and collects their reports, failing (and terminating the
 * workers) if they take longer than a watchdog limit: a lost wake-up shows up
 * as a hang, and a test must fail rather than hang.
 */
import { Scheduler } from '../../scheduler.js';
import { clockOrigin } from '../nodeClock.js';
import { startTsWorker } from './bundleWorker.js';
import { TEST_WORDS, type WorkloadData, type WorkloadResult } from './workloads.js';

/** What to run. */
export interface WorkerRun {
  readonly mode: WorkloadData['mode'];
  readonly n: number;
  readonly k: number;
  /** Thread slots of the area (default 4096). */
  readonly threads?: number;
  /** Watchdog, ms. */
  readonly limitMs: number;
  /** Called after formatting, before the workers start (the queue stress prepares slots here). */
  readonly prepare?: (buffer: SharedArrayBuffer, test: Int32Array) => void;
}

/** The reports, CPU 0 first, and the test words. */
export interface WorkerRunResult {
  readonly results: WorkloadResult[];
  readonly test: Int32Array;
}

/** Runs `run` on two worker CPUs. Rejects on a worker error or the watchdog. */
export async function runTwoWorkers(run: WorkerRun): Promise<WorkerRunResult> {
  const { buffer } = Scheduler.createArea({ cpus: 2, threads: run.threads ?? 4096, syncObjects: 64 });
  const testBuf = new SharedArrayBuffer(TEST_WORDS.SIZE * 4);
  const test = new Int32Array(testBuf);
  run.prepare?.(buffer, test);
  const origin = clockOrigin();
  const entry = new URL('./cpuWorker.ts', import.meta.url);
  const workers = await Promise.all(
    [0, 1].map((cpu) => {
      const data: WorkloadData = { mode: run.mode, buffer, cpu, clockOrigin: origin, test: testBuf, n: run.n, k: run.k };
      return startTsWorker(entry, { workerData: data });
    }),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${run.mode}: workers still running after ${run.limitMs} ms (a lost wake-up?)`)), run.limitMs);
  });
  try {
    const results = await Promise.race([
      Promise.all(
        workers.map(
          (w) =>
            new Promise<WorkloadResult>((resolve, reject) => {
              w.once('message', (m: { ok: boolean; result?: WorkloadResult; error?: string }) =>
                m.ok ? resolve(m.result!) : reject(new Error(m.error)),
              );
              w.once('error', reject);
            }),
        ),
      ),
      watchdog,
    ]);
    return { results, test };
  } finally {
    clearTimeout(timer);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
