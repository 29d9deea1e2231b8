/**
 * The scheduler's shared memory: everything that crosses CPUs. One area holds
 * a header, one block per CPU, one slot per thread and a pool of
 * synchronisation blocks, all in 32-bit words read with Atomics. The layout is
 * our own contract between the vCPUs (OSv keeps the same things in per-cpu
 * and thread structures: cpu::incoming_wakeups[], incoming_wakeups_mask,
 * thread::_detached_state->st, lockfree::mutex).
 *
 *   word 0                      HEADER_LAYOUT
 *   header.CPU_BASE             CPU_LAYOUT × cpuCount
 *   header.SLOT_BASE            THREAD_SLOT_LAYOUT × threadCapacity (slot 0 is the nil link, never used)
 *   header.SYNC_BASE            SYNC_BLOCK_WORDS × syncCapacity (block 0 unused)
 */
import { wordLayout } from './layout.js';
import { MAX_CPUS } from '../constants.js';

/** 'OSVS' little-endian. */
export const SCHED_MAGIC = 0x5356534f;
/** Version of this layout. */
export const SCHED_LAYOUT_VERSION = 1;

/** The area's header. Written once by the creator, then read-only except the counters noted. */
export const HEADER_LAYOUT = wordLayout(
  [
    ['MAGIC', 1], // SCHED_MAGIC
    ['VERSION', 1], // SCHED_LAYOUT_VERSION
    ['CPU_COUNT', 1],
    ['THREAD_CAPACITY', 1], // slots, including the unused slot 0
    ['SYNC_CAPACITY', 1], // synchronisation blocks, including the unused block 0
    ['CPU_BASE', 1], // word index of CPU block 0
    ['SLOT_BASE', 1], // word index of thread slot 0
    ['SYNC_BASE', 1], // word index of sync block 0
    ['THREAD_BUMP', 1], // next never-used slot; any CPU, Atomics.add
    ['SYNC_BUMP', 1], // next never-used sync block; any CPU, Atomics.add
    ['STOP', 1], // 1: every CPU's idle loop returns; any CPU sets
    ['CORRUPT', 1], // count of invalid values found in shared memory; any CPU, Atomics.add
    ['LOCK_SPIN_LIMIT_MS', 1], // how long a wait-queue lock may stay held before EDEADLK, ms
    ['reserved', 3],
  ],
  16,
);

/**
 * One CPU's block. INCOMING[s] heads the list of threads CPU s woke for this
 * CPU (OSv's incoming_wakeups[s]); bit s of MASK_LO/MASK_HI says list s may be
 * non-empty (OSv's incoming_wakeups_mask).
 */
export const CPU_LAYOUT = wordLayout(
  [
    ['STATE', 1], // CPU_RUNNING | CPU_POLLING | CPU_SLEEPING; owner writes, wakers read
    ['PREEMPT', 1], // 1: reschedule at the next preemption point; any CPU sets, owner clears
    ['LOAD', 1], // runnable threads homed here and taken in (running + queued); owner writes (plain), others read
    ['PENDING', 1], // threads pushed on this CPU's incoming lists and not yet taken in; pushers Atomics.add, owner Atomics.exchange
    ['MASK_LO', 1], // incoming sources 0..31; wakers Atomics.or, owner Atomics.exchange
    ['MASK_HI', 1], // incoming sources 32..63
    ['WAKE', 1], // wake word of the default Atomics idle: bumped by an IPI, waited on by the owner
    ['FREE_SLOTS', 1], // head of this CPU's free thread-slot list (0 = empty); CAS
    ['FREE_SYNC', 1], // head of this CPU's free sync-block list (0 = empty); CAS
    ['SWITCHES', 1], // context switches so far (wraps); owner writes
    ['IPIS', 1], // wake IPIs this CPU sent (wraps); owner writes
    ['reserved', 5],
    ['INCOMING', MAX_CPUS], // list heads, one per source CPU: thread slot or 0; source CAS-pushes, owner exchanges
  ],
  16,
);

/**
 * One thread slot (OSv's thread::detached_state plus the wait record).
 * CPU_TIME is a Float64 and sits on an 8-byte boundary (slots are 128 bytes).
 */
export const THREAD_SLOT_LAYOUT = wordLayout(
  [
    ['STATE', 1], // THREAD_STATE; see constants.ts for who moves it
    ['GEN', 1], // generation, bumped when the slot is freed: the high bits of the thread id
    ['CPU', 1], // home CPU; changed only while the thread is not running (placement, balancer)
    ['FLAGS', 1], // SLOT_FLAG_*
    ['WAKE_NEXT', 1], // link in an incoming list (slot, 0 = end)
    ['WAIT_NEXT', 1], // links in a sync object's FIFO (slot, 0 = end); guarded by that object's LOCK
    ['WAIT_PREV', 1],
    ['WAIT_QUEUE', 1], // word index of the sync block whose FIFO holds this thread, 0 = none
    ['WAIT_RESULT', 1], // WAIT_RESULT_* written by the grantor before it wakes the thread
    ['WAIT_KIND', 1], // WAIT_KIND_* (what the thread asked for)
    ['WAIT_MUTEX', 1], // condvar waits: word index of the mutex to re-acquire
    ['WAIT_DEPTH', 1], // condvar waits: recursion depth to restore
    ['JOINER', 1], // JOINER_* or the joining thread's id; CAS
    ['ENTRY', 1], // registered entry id (0: a closure thread that cannot leave its isolate)
    ['ARG0', 1], // entry arguments
    ['ARG1', 1],
    ['PRIORITY', 1], // Float32 bits of the priority (for placement in another isolate)
    ['REALTIME', 1], // real-time priority, 0 = time-shared
    ['EXIT_STATUS', 1], // 0 returned, 1 threw
    ['FREE_NEXT', 1], // link in a CPU's free-slot list
    ['reserved', 10],
    ['CPU_TIME', 2], // Float64: ns of CPU consumed, published at each switch-out
  ],
  16,
);

/** SLOT FLAGS bits. */
export const SLOT_FLAG_ENTRY = 1; // started from a registered entry: any isolate can start it
export const SLOT_FLAG_PINNED = 2; // the balancer must not move it
export const SLOT_FLAG_STARTED = 4; // its body has begun: it can no longer leave its CPU

/** JOINER word values besides a thread id. */
export const JOINER_NONE = 0;
export const JOINER_DONE = -1; // terminated, not yet joined
export const JOINER_DETACHED = -2; // detached: its exit frees the slot
export const JOINER_REAPED = -3; // terminated and claimed by join() or detach(), which frees the slot

/** WAIT_RESULT values. */
export const WAIT_RESULT_PENDING = 0;
export const WAIT_RESULT_GRANTED = 1;
export const WAIT_RESULT_TIMEDOUT = 2;

/** WAIT_KIND values. */
export const WAIT_KIND_NONE = 0;
export const WAIT_KIND_READ = 1;
export const WAIT_KIND_WRITE = 2;

/** Words per synchronisation block. */
export const SYNC_BLOCK_WORDS = 8;

/**
 * The fields every synchronisation block starts with: a type tag, the lock
 * word guarding its FIFO of waiting threads, and the FIFO's ends.
 */
const SYNC_HEAD = [
  ['KIND', 1], // SYNC_KIND_* (0 = free block)
  ['LOCK', 1], // 0 free, 1 held, 2 held with a waiter in Atomics.wait
  ['HEAD', 1], // first waiting thread slot, 0 = none
  ['TAIL', 1], // last waiting thread slot
] as const;

/** The common head of every sync block, as a table. */
export const SYNC_HEAD_LAYOUT = wordLayout(SYNC_HEAD);

/**
 * A mutex (after OSv's lockfree::mutex, with an explicit FIFO so unlock can
 * hand the lock to the longest waiter).
 */
export const MUTEX_LAYOUT = wordLayout(
  [...SYNC_HEAD, ['STATE', 1], ['OWNER', 1], ['DEPTH', 1], ['reserved', 1]],
  SYNC_BLOCK_WORDS,
);
/** Mutex STATE: 0 unlocked, 1 locked, 2 locked and the FIFO may be non-empty. */
export const MUTEX_UNLOCKED = 0;
export const MUTEX_LOCKED = 1;
export const MUTEX_CONTENDED = 2;

/** A counting semaphore. */
export const SEMAPHORE_LAYOUT = wordLayout([...SYNC_HEAD, ['COUNT', 1], ['reserved', 3]], SYNC_BLOCK_WORDS);
/** A condition variable (also OSv's waitqueue). */
export const CONDVAR_LAYOUT = wordLayout([...SYNC_HEAD, ['reserved', 4]], SYNC_BLOCK_WORDS);
/** A readers-writer lock: READERS holding it, or WRITER's thread id. */
export const RWLOCK_LAYOUT = wordLayout([...SYNC_HEAD, ['READERS', 1], ['WRITER', 1], ['reserved', 2]], SYNC_BLOCK_WORDS);

/** Sync block KIND tags ('SY' in the high half so stray words rarely pass for one). */
export const SYNC_KIND_MUTEX = 0x53590001;
export const SYNC_KIND_SEMAPHORE = 0x53590002;
export const SYNC_KIND_CONDVAR = 0x53590003;
export const SYNC_KIND_RWLOCK = 0x53590004;

/** Size of the shared area, words. */
export function sharedAreaWords(cpuCount: number, threadCapacity: number, syncCapacity: number): number {
  return HEADER_LAYOUT.SIZE + cpuCount * CPU_LAYOUT.SIZE + threadCapacity * THREAD_SLOT_LAYOUT.SIZE + syncCapacity * SYNC_BLOCK_WORDS;
}
