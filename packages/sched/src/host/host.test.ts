/**
 * Setting 1, a plain Node process: one CPU on this thread, Node's clock, an
 * idle that lets the event loop run. Checks on the real clock are loose and
 * never depend on how fast the machine is: work is measured in CPU time the
 * scheduler accounted, and only shares and orderings are asserted.
 */
import { describe, expect, it } from 'vitest';
import { createHostScheduler, runMain } from '../host.js';
import { SchedError } from '../errors.js';
import type { Scheduler } from '../scheduler.js';

/** Spins until the running thread has used `ms` of CPU, with preemption points. */
async function burn(s: Scheduler, ms: number): Promise<void> {
  const me = s.current()!;
  while (me.cpuTimeNs() < ms * 1e6) {
    const p = s.preemptionPoint();
    if (p !== undefined) await p;
  }
}

describe('a one-CPU scheduler in a Node process', () => {
  it('runMain returns what main returns and rethrows what it throws', async () => {
    expect(await runMain(async (s) => (await s.spawn(() => 6).join()) as number * 7)).toBe(42);
    await expect(runMain(() => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
  });

  it('shares the CPU loosely fairly between two CPU-bound threads (real clock)', async () => {
    const shares = await runMain(async (s) => {
      const start = s.nowNs();
      const spin = async (): Promise<void> => {
        while (s.nowNs() - start < 400e6) {
          const p = s.preemptionPoint();
          if (p !== undefined) await p;
        }
      };
      const a = s.spawn(spin);
      const b = s.spawn(spin, { priority: 0.5 });
      await a.join();
      await b.join();
      return { a: a.cpuTimeNs(), b: b.cpuTimeNs() };
    });
    const bShare = shares.b / (shares.a + shares.b);
    // Priority 0.5 against 1 should get two thirds; on a loaded machine the OS adds noise.
    expect(bShare).toBeGreaterThan(0.5);
    expect(bShare).toBeLessThan(0.85);
  });

  it('two equal CPU-bound threads each get between 30% and 70% (real clock)', async () => {
    const t = await runMain(async (s) => {
      const a = s.spawn(() => burn(s, 150));
      const b = s.spawn(() => burn(s, 1000));
      await a.join(); // a finishes its 150 ms once it has had about half of 300 ms
      const bAt = b.cpuTimeNs();
      b.detach();
      return { bAt, a: a.cpuTimeNs() };
    });
    const share = t.a / (t.a + t.bAt);
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.7);
  });

  it('sleep never returns before its deadline, and other threads run meanwhile', async () => {
    const r = await runMain(async (s) => {
      let ticks = 0;
      const ticker = s.spawn(async () => {
        for (let i = 0; i < 5; i++) {
          ticks++;
          await s.sleep(1e6);
        }
      });
      const t0 = s.nowNs();
      await s.sleep(20e6);
      const slept = s.nowNs() - t0;
      await ticker.join();
      return { slept, ticks };
    });
    expect(r.slept).toBeGreaterThanOrEqual(20e6);
    expect(r.ticks).toBe(5);
  });

  it('hostAwait lets other threads run while a host promise settles', async () => {
    const r = await runMain(async (s) => {
      let counter = 0;
      const other = s.spawn(async () => {
        for (let i = 0; i < 20; i++) {
          counter++;
          await s.sleep(0.2e6);
        }
      });
      const v = await s.hostAwait(new Promise<string>((res) => setTimeout(() => res('done'), 10)));
      const seen = counter;
      await other.join();
      let err: unknown;
      try {
        await s.hostAwait(Promise.reject(new Error('host failure')));
      } catch (e) {
        err = e;
      }
      return { v, seen, err: (err as Error).message };
    });
    expect(r.v).toBe('done');
    expect(r.seen).toBeGreaterThan(0);
    expect(r.err).toBe('host failure');
  });

  it('wakes an idle CPU from a host callback: a semaphore post and a timer armed outside any thread', async () => {
    const s = createHostScheduler();
    const sem = s.semaphore(0);
    const order: string[] = [];
    s.spawn(async () => {
      await sem.wait();
      order.push('posted');
      await sem.wait();
      order.push('timer');
      s.stop();
    });
    const running = s.runCpu();
    setTimeout(() => {
      sem.post();
      setTimeout(() => s.timer(() => sem.post()).armAfter(1e6), 5);
    }, 5);
    await running;
    expect(order).toEqual(['posted', 'timer']);
  });

  it('colocated threads alternate through semaphores', async () => {
    const n = await runMain(async (s) => {
      const a = s.semaphore(0);
      const b = s.semaphore(0);
      let pongs = 0;
      const pong = s.spawn(async () => {
        for (let i = 0; i < 10_000; i++) {
          await a.wait();
          pongs++;
          b.post();
        }
      });
      for (let i = 0; i < 10_000; i++) {
        a.post();
        await b.wait();
      }
      await pong.join();
      return pongs;
    });
    expect(n).toBe(10_000);
  });

  it('blocking outside a thread throws EPERM', () => {
    const s = createHostScheduler();
    expect(() => s.sleep(1)).toThrowError(SchedError);
    expect(s.current()).toBeNull();
    expect(s.preemptionPoint()).toBeUndefined();
  });
});
