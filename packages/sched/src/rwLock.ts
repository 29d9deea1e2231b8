/**
 * A readers-writer lock that works across vCPUs (OSv's rwlock): many readers
 * or one writer, served in FIFO order so neither side starves.
 */
import type { SchedCore } from './internal/core.js';
import { WAIT_SYNC } from './internal/core.js';
import {
  RWLOCK_LAYOUT,
  SYNC_KIND_RWLOCK,
  THREAD_SLOT_LAYOUT,
  WAIT_KIND_READ,
  WAIT_KIND_WRITE,
  WAIT_RESULT_PENDING,
  WAIT_RESULT_TIMEDOUT,
} from './internal/sharedLayout.js';
import { lockQueue, queueAppend, queueEmpty, unlockQueue } from './internal/waitList.js';
import { rwGrant } from './internal/rwLockOps.js';
import { check, freeSyncBlock } from './internal/syncBlock.js';
import type { ThreadControl } from './internal/threadControl.js';
import { THREAD_STATE } from './constants.js';
import { SchedError } from './errors.js';

const R_READERS = RWLOCK_LAYOUT.READERS.offset;
const R_WRITER = RWLOCK_LAYOUT.WRITER.offset;
const S_WAIT_RESULT = THREAD_SLOT_LAYOUT.WAIT_RESULT.offset;
const GOT = 1;

/** Get one from `Scheduler.rwLock()`; share it with another isolate by its `ref`. */
export class RwLock {
  /** @internal Use Scheduler.rwLock(). */
  constructor(
    private readonly core: SchedCore,
    /** Names this lock in the shared area. */
    readonly ref: number,
  ) {}

  /** Takes it for reading. Undefined if granted at once, else a promise resolving when granted. Throws EPERM outside a thread. */
  readLock(): Promise<void> | undefined {
    return this.acquire(WAIT_KIND_READ, 'rwlock read lock');
  }

  /** Takes it for writing. Undefined if granted at once, else a promise resolving when granted. Throws EPERM outside a thread. */
  writeLock(): Promise<void> | undefined {
    return this.acquire(WAIT_KIND_WRITE, 'rwlock write lock');
  }

  /** Takes it for reading if no one holds it for writing or waits; true on success. */
  tryReadLock(): boolean {
    return this.tryTake(this.core.currentOrThrow('rwlock read lock'), WAIT_KIND_READ) === GOT;
  }

  /** Takes it for writing if it is free and no one waits; true on success. */
  tryWriteLock(): boolean {
    return this.tryTake(this.core.currentOrThrow('rwlock write lock'), WAIT_KIND_WRITE) === GOT;
  }

  /** As writeLock()/readLock(), giving up after `timeoutNs`; resolves true if granted. */
  async lockTimeout(write: boolean, timeoutNs: number): Promise<boolean> {
    const core = this.core;
    const t = core.currentOrThrow('rwlock lock');
    const deadline = core.clock.nowNs() + timeoutNs;
    const p = this.acquire(write ? WAIT_KIND_WRITE : WAIT_KIND_READ, 'rwlock lock');
    if (p === undefined) return true;
    core.armWaitTimer(t, WAIT_SYNC, deadline);
    await p;
    core.cancelWaitTimer(t);
    return Atomics.load(core.area.i32, core.area.slotWord(t.slot, S_WAIT_RESULT)) !== WAIT_RESULT_TIMEDOUT;
  }

  /** Releases the caller's hold (write if it is the writer, else one read hold). Throws SchedError EPERM if it holds none. */
  unlock(): void {
    const core = this.core;
    const t = core.currentOrThrow('rwlock unlock');
    const area = core.area;
    const i32 = area.i32;
    check(lockQueue(area, this.ref), 'rwlock unlock');
    let ok = true;
    if (i32[this.ref + R_WRITER] === t.tid) i32[this.ref + R_WRITER] = 0;
    else if (i32[this.ref + R_READERS]! > 0) i32[this.ref + R_READERS] = i32[this.ref + R_READERS]! - 1;
    else ok = false;
    if (ok) rwGrant(core, this.ref);
    unlockQueue(area, this.ref);
    if (!ok) throw new SchedError('EPERM', 'rwlock unlock: the calling thread holds no lock');
  }

  /** Readers holding it now. */
  get readers(): number {
    return Atomics.load(this.core.area.i32, this.ref + R_READERS);
  }

  /** Thread id of the writer holding it, 0 if none. */
  get writer(): number {
    return Atomics.load(this.core.area.i32, this.ref + R_WRITER);
  }

  /** Returns its shared block to the pool. Throws SchedError EINVAL if threads wait on it. */
  destroy(): void {
    freeSyncBlock(this.core, this.ref, SYNC_KIND_RWLOCK, 'rwlock');
  }

  private acquire(kind: number, what: string): Promise<void> | undefined {
    const t = this.core.currentOrThrow(what);
    const r = this.tryTake(t, kind, true);
    if (r === GOT) return undefined;
    if (typeof r === 'number') throw SchedError.fromErrno(r, what);
    return r;
  }

  /** GOT, or (when `queue`) the park promise / undefined, or a negative errno. */
  private tryTake(t: ThreadControl, kind: number, queue = false): typeof GOT | Promise<void> | undefined | number {
    const area = this.core.area;
    const i32 = area.i32;
    const r = lockQueue(area, this.ref);
    if (r < 0) return r;
    // Inside the FIFO lock: plain loads and stores (see waitList.ts).
    const free =
      i32[this.ref + R_WRITER] === 0 && queueEmpty(area, this.ref) && (kind === WAIT_KIND_READ || i32[this.ref + R_READERS] === 0);
    if (free) {
      if (kind === WAIT_KIND_READ) i32[this.ref + R_READERS] = i32[this.ref + R_READERS]! + 1;
      else i32[this.ref + R_WRITER] = t.tid;
      unlockQueue(area, this.ref);
      return GOT;
    }
    if (!queue) {
      unlockQueue(area, this.ref);
      return 0;
    }
    i32[area.slotWord(t.slot, S_WAIT_RESULT)] = WAIT_RESULT_PENDING;
    i32[t.stateWord] = THREAD_STATE.WAITING_SYNC;
    const e = queueAppend(area, this.ref, t.slot, kind);
    unlockQueue(area, this.ref);
    if (e < 0) {
      i32[t.stateWord] = THREAD_STATE.RUNNING;
      return e;
    }
    return this.core.block(t);
  }
}
