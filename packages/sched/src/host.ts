/**
 * `@osv-ts/sched/host`: the Node glue. A clock, an event-loop-friendly idle,
 * a one-CPU scheduler for a plain Node process, and the attach helper for
 * running one CPU per worker thread over a shared scheduler area.
 */
export { nodeClock, clockOrigin } from './host/nodeClock.js';
export { AsyncIdle } from './host/asyncIdle.js';
export { createHostScheduler, runMain } from './host/hostScheduler.js';
export type { HostSchedulerOptions } from './host/hostScheduler.js';
export { attachWorkerCpu } from './host/workerCpu.js';
export type { WorkerCpuOptions } from './host/workerCpu.js';
