/**
 * A mutex in shared memory for state several vCPUs change (OSv uses a mutex
 * there; a green-thread mutex cannot span isolates, so this is a futex-style
 * lock word: 0 free, 1 held, 2 held with waiters). A waiter spins briefly, then
 * sleeps in Atomics.wait with a short timeout, and calls `waiter.whileWaiting()`
 * on every round: mmu passes its TLB-shootdown service there, so a vCPU blocked
 * on a lock still answers the shootdown of the CPU that holds it (no deadlock).
 *
 * Not re-entrant. Never held across a call out of mmu (shrinkers, providers).
 */

/** What a lock waiter does while it waits. */
export interface LockWaiter {
  /** Called between waits; must not take the lock being waited for. */
  whileWaiting(): void;
}

const SPINS = 64;
/** Longest single sleep while waiting, ms (a shootdown also notifies the word). */
const WAIT_MS = 1;

/** Takes the lock at word `index` of `words`. */
export function lockWord(words: Int32Array, index: number, waiter: LockWaiter): void {
  if (Atomics.compareExchange(words, index, 0, 1) === 0) return;
  for (let i = 0; i < SPINS; i++) {
    if (Atomics.load(words, index) === 0 && Atomics.compareExchange(words, index, 0, 1) === 0) return;
  }
  for (;;) {
    if (Atomics.exchange(words, index, 2) === 0) return;
    waiter.whileWaiting();
    Atomics.wait(words, index, 2, WAIT_MS);
  }
}

/** Tries once to take the lock; true if taken. */
export function tryLockWord(words: Int32Array, index: number): boolean {
  return Atomics.compareExchange(words, index, 0, 1) === 0;
}

/** Releases the lock at word `index`, waking one waiter if there are any. */
export function unlockWord(words: Int32Array, index: number): void {
  if (Atomics.sub(words, index, 1) !== 1) {
    Atomics.store(words, index, 0);
    Atomics.notify(words, index, 1);
  }
}
