/**
 * Allocating, checking and freeing synchronisation blocks, for the classes
 * that wrap them. A block is named across isolates by its `ref`: the word
 * index of its first word in the area.
 */
import type { SchedCore } from './core.js';
import { SYNC_HEAD_LAYOUT } from './sharedLayout.js';
import { SchedError } from '../errors.js';

const Q_KIND = SYNC_HEAD_LAYOUT.KIND.offset;

/** Allocates a block of `kind`; throws SchedError EAGAIN when the pool is exhausted. */
export function allocSyncBlock(core: SchedCore, kind: number, what: string): number {
  const ref = core.area.allocSync(core.hereCpu().id);
  if (ref < 0) throw new SchedError('EAGAIN', `no free synchronisation block for a new ${what} — create the scheduler with more syncObjects`);
  Atomics.store(core.area.i32, ref + Q_KIND, kind);
  return ref;
}

/** Checks that `ref` names a live block of `kind`; throws SchedError EINVAL otherwise. */
export function checkSyncBlock(core: SchedCore, ref: number, kind: number, what: string): number {
  if (!core.area.validSyncWord(ref) || Atomics.load(core.area.i32, ref + Q_KIND) !== kind) {
    throw new SchedError('EINVAL', `ref ${ref} does not name a ${what} in this scheduler area`);
  }
  return ref;
}

/** Frees a block; throws SchedError EINVAL if threads still wait on it. */
export function freeSyncBlock(core: SchedCore, ref: number, kind: number, what: string): void {
  checkSyncBlock(core, ref, kind, what);
  if (Atomics.load(core.area.i32, ref + SYNC_HEAD_LAYOUT.HEAD.offset) !== 0) {
    throw new SchedError('EINVAL', `cannot destroy a ${what} that threads are waiting on`);
  }
  core.area.freeSync(core.hereCpu().id, ref);
}

/** Turns a negative errno from a hot path into a thrown SchedError. */
export function check(r: number, what: string): void {
  if (r < 0) throw SchedError.fromErrno(r, what);
}
