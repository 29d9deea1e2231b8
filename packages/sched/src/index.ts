/**
 * @osv-ts/sched — OSv's scheduler: per-CPU run queues of green threads
 * (async functions) ordered by exponentially decayed run time, lock-free
 * cross-CPU wake-ups through shared memory, a load balancer, and the
 * synchronisation objects, all usable across vCPUs that share one scheduler
 * area. Node glue lives in `@osv-ts/sched/host`, the simulation in
 * `@osv-ts/sched/sim`.
 */
export { Scheduler, schedulerAreaBytes } from './scheduler.js';
export type { AreaOptions, AttachOptions, CreateOptions, EntryFunction, SchedStats, SchedulerOptions, SpawnOptions } from './scheduler.js';
export { Thread } from './thread.js';
export { Mutex } from './mutex.js';
export { Semaphore } from './semaphore.js';
export { CondVar, WaitQueue } from './condVar.js';
export { RwLock } from './rwLock.js';
export { Timer } from './timer.js';
export { ThreadLocal } from './threadLocal.js';
export { AtomicsIdle, DEFAULT_POLL_NS } from './atomicsIdle.js';
export type { WakeWords } from './atomicsIdle.js';
export type { Clock, CpuIdle, CpuWords, IpiSender } from './interfaces.js';
export { SchedError, SCHED_ERRNO, SCHED_ERROR_CODES } from './errors.js';
export type { SchedErrorCode } from './errors.js';
export {
  BALANCE_PERIOD_NS,
  CPU_OFFLINE,
  CPU_POLLING,
  CPU_RUNNING,
  CPU_SLEEPING,
  HYSTERESIS_NS,
  MAX_CPUS,
  MAX_THREADS,
  MIN_SLICE_NS,
  PREEMPT_PENALTY_NS,
  PRIORITY_DEFAULT,
  PRIORITY_IDLE,
  TAU_NS,
  THREAD_STATE,
} from './constants.js';
export type { ThreadState } from './constants.js';
export {
  CONDVAR_LAYOUT,
  CPU_LAYOUT,
  HEADER_LAYOUT,
  MUTEX_LAYOUT,
  RWLOCK_LAYOUT,
  SEMAPHORE_LAYOUT,
  SYNC_BLOCK_WORDS,
  THREAD_SLOT_LAYOUT,
} from './internal/sharedLayout.js';
export type { WordField, WordLayout } from './internal/layout.js';
