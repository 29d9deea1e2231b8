/// <reference types="node" />
import { describe, expect, it } from 'vitest';
import { settleWakes } from './trackedSockets.js';

/** A one-thread stand-in for sched: waitUntil re-checks its predicate on each wake(). */
function fakeSched() {
  let wakeup: (() => void) | null = null;
  const s = {
    wakes: 0,
    current: () => ({ id: 7 }),
    wake(tid: number): boolean {
      expect(tid).toBe(7);
      s.wakes++;
      const w = wakeup;
      wakeup = null;
      w?.();
      return w !== null;
    },
    async waitUntil(pred: () => boolean): Promise<void> {
      while (!pred()) await new Promise<void>((r) => (wakeup = r));
    },
  };
  return s;
}

/** The I/O wait service's track when no device completes: it never returns. */
const neverCompletes = <T>(): Promise<T> => new Promise<T>(() => {});

describe('settleWakes', () => {
  it('ends the wait when the promise settles without a device completion (a stack timer)', async () => {
    const sched = fakeSched();
    const track = settleWakes(sched as never, neverCompletes);
    const p = new Promise<string>((r) => setTimeout(() => r('lingered'), 20));
    await expect(track(p)).resolves.toBe('lingered');
    expect(sched.wakes).toBe(1);
  });

  it('shares one park among concurrent waits of a thread, and passes rejections through', async () => {
    const sched = fakeSched();
    const track = settleWakes(sched as never, neverCompletes);
    const a = track(new Promise<number>((r) => setTimeout(() => r(1), 10)));
    const b = track(new Promise<number>((_r, j) => setTimeout(() => j(new Error('reset')), 30)));
    await expect(a).resolves.toBe(1);
    await expect(b).rejects.toThrow('reset');
  });

  it('leaves promises alone outside a thread', async () => {
    const track = settleWakes({ current: () => null, wake: () => false, waitUntil: () => Promise.resolve() } as never, (p) => p);
    await expect(track(Promise.resolve(3))).resolves.toBe(3);
  });
});
