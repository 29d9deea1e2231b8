/**
 * The scheduler's tunables and state numbers, with the values OSv uses
 * (include/osv/sched.hh: tau, thyst, context_switch_penalty; core/sched.cc:
 * the 100 ms load_balance period).
 */

/** Time constant of the exponential decay of run time, ns (OSv's `tau`). */
export const TAU_NS = 200_000_000;
/**
 * Hysteresis, ns (OSv's `thyst`): a running thread is switched away only when
 * another's decayed run time is lower by more than this much run time. Two
 * CPU-bound threads of equal priority alternate in slices of about 2·thyst.
 */
export const HYSTERESIS_NS = 5_000_000;
/** Run time charged to the thread switched in after a preemption, ns. */
export const PREEMPT_PENALTY_NS = 10_000;
/** Period of each CPU's load balancer, ns. */
export const BALANCE_PERIOD_NS = 100_000_000;
/** Shortest time the scheduler lets a thread run before re-checking, ns. */
export const MIN_SLICE_NS = 1_000;

/** Priority of an ordinary thread. Smaller numbers get more CPU: p/2 gets twice the CPU of p. */
export const PRIORITY_DEFAULT = 1;
/** Idle priority: runs only when nothing else on its CPU can (OSv's `priority_idle`). */
export const PRIORITY_IDLE = Number.POSITIVE_INFINITY;

/** Most CPUs one scheduler area serves (two 32-bit incoming masks). */
export const MAX_CPUS = 64;
/** Most thread slots (slot numbers use the low 20 bits of a thread id). */
export const MAX_THREADS = (1 << 20) - 1;

/**
 * CPU run states are the values of a CPU's STATE word. They equal the hv's
 * CPU_RUNNING / CPU_POLLING / CPU_SLEEPING (packages/hv/src/abi.ts), so the
 * kernel can point the scheduler at the control buffer's CPU_STATE word.
 * CPU_OFFLINE (the hv's CPU_HALTED): not running a scheduler; the balancer and
 * placement skip it.
 */
export const CPU_OFFLINE = 0;
/** Running a thread or scheduling: a waker raises the CPU's PREEMPT flag instead of sending an IPI. */
export const CPU_RUNNING = 2;
/** Idle, polling its incoming queues: a waker needs to do nothing more. */
export const CPU_POLLING = 3;
/** Idle in a host wait (CpuIdle.sleep): a waker must send a wake IPI. */
export const CPU_SLEEPING = 4;

/**
 * Thread states, the values of a thread slot's STATE word (OSv's
 * thread::status, plus WAITING_SYNC). Transitions: the owning CPU moves
 * RUNNING→WAITING*, QUEUED↔RUNNING, RUNNING→TERMINATED and WAKING→QUEUED;
 * any CPU moves WAITING→WAKING (raw wake) or WAITING_SYNC→WAKING (a
 * synchronisation object granting the thread what it waits for) with a CAS.
 */
export const THREAD_STATE = {
  FREE: 0, // slot unused
  UNSTARTED: 1, // slot allocated, thread not yet placed on a CPU
  WAITING: 2, // blocked in a raw wait: any wake() may wake it (spurious wake-ups allowed)
  WAITING_SYNC: 3, // blocked in a mutex, semaphore, condvar, rwlock, join or sleep: only its grantor wakes it
  WAKING: 4, // woken; its slot is on (or about to be on) its CPU's incoming list
  QUEUED: 5, // in its CPU's run queue
  RUNNING: 6, // its CPU's current thread
  TERMINATED: 7, // returned or threw; waiting to be joined or reaped
} as const;

/** One of THREAD_STATE's values. */
export type ThreadState = (typeof THREAD_STATE)[keyof typeof THREAD_STATE];
