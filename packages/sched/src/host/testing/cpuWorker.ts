/**
 * Worker entry for tests and benchmarks: runs the workload named in
 * workerData on one CPU and posts its report.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runWorkload, type WorkloadData } from './workloads.js';

const port = parentPort!;
runWorkload(workerData as WorkloadData).then(
  (r) => port.postMessage({ ok: true, result: r }),
  (e: unknown) => port.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
);
