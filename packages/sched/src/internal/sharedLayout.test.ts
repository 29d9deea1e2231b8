import { describe, expect, it } from 'vitest';
import {
  CONDVAR_LAYOUT,
  CPU_LAYOUT,
  HEADER_LAYOUT,
  MUTEX_LAYOUT,
  RWLOCK_LAYOUT,
  SEMAPHORE_LAYOUT,
  SYNC_BLOCK_WORDS,
  SYNC_HEAD_LAYOUT,
  THREAD_SLOT_LAYOUT,
  sharedAreaWords,
} from './sharedLayout.js';
import { wordLayout } from './layout.js';
import { MAX_CPUS } from '../constants.js';

describe('shared-memory layouts', () => {
  it('keep every record on whole 64-byte cache lines', () => {
    expect(HEADER_LAYOUT.SIZE).toBe(16);
    expect(CPU_LAYOUT.SIZE).toBe(16 + MAX_CPUS);
    expect(CPU_LAYOUT.SIZE % 16).toBe(0);
    expect(THREAD_SLOT_LAYOUT.SIZE).toBe(32);
    expect(SYNC_BLOCK_WORDS).toBe(8);
  });

  it('put the Float64 CPU_TIME on an 8-byte boundary', () => {
    expect(THREAD_SLOT_LAYOUT.CPU_TIME.offset % 2).toBe(0);
    expect(THREAD_SLOT_LAYOUT.CPU_TIME.size).toBe(2);
  });

  it('share one head across every sync kind, and fit each kind in a block', () => {
    for (const l of [MUTEX_LAYOUT, SEMAPHORE_LAYOUT, CONDVAR_LAYOUT, RWLOCK_LAYOUT]) {
      expect(l.SIZE).toBe(SYNC_BLOCK_WORDS);
      expect(l.KIND).toEqual(SYNC_HEAD_LAYOUT.KIND);
      expect(l.LOCK).toEqual(SYNC_HEAD_LAYOUT.LOCK);
      expect(l.HEAD).toEqual(SYNC_HEAD_LAYOUT.HEAD);
      expect(l.TAIL).toEqual(SYNC_HEAD_LAYOUT.TAIL);
    }
  });

  it('sizes an area from its parts', () => {
    expect(sharedAreaWords(2, 10, 3)).toBe(16 + 2 * CPU_LAYOUT.SIZE + 10 * 32 + 3 * 8);
  });

  it('wordLayout lays fields back to back and refuses duplicates', () => {
    const l = wordLayout([['A', 1], ['B', 3], ['C', 1]] as const, 4);
    expect([l.A.offset, l.B.offset, l.C.offset, l.SIZE]).toEqual([0, 1, 4, 8]);
    expect(() => wordLayout([['A', 1], ['A', 1]] as const)).toThrowError(/declared twice/);
  });
});
