/**
 * Threads' lives and the per-thread services (join, detach, thread-local
 * values, sleep, timers, yield, CPU-time accounting, raw waits), under the
 * simulation so every outcome is exact.
 */
import { describe, expect, it } from 'vitest';
import { Simulation } from './sim/simulation.js';
import { Scheduler, schedulerAreaBytes } from './scheduler.js';
import { SchedError } from './errors.js';

const MS = 1_000_000;

describe('join and detach', () => {
  it('join returns what the body returned, or throws what it threw', async () => {
    const sim = new Simulation({ cpus: 2 });
    const out: unknown[] = [];
    sim.sched.spawn(async () => {
      const a = sim.sched.spawn(async () => {
        await sim.compute(MS);
        return 42;
      });
      const b = sim.sched.spawn(() => {
        throw new Error('boom');
      });
      out.push(await a.join());
      try {
        await b.join();
      } catch (e) {
        out.push((e as Error).message);
      }
    });
    await sim.run();
    expect(out).toEqual([42, 'boom']);
  });

  it('join of a finished thread returns at once; a second join, a self-join and a stale id fail', async () => {
    const sim = new Simulation({ cpus: 1 });
    const codes: string[] = [];
    sim.sched.spawn(async () => {
      const t = sim.sched.spawn(() => 7);
      await sim.sched.sleep(MS);
      expect(await t.join()).toBe(7);
      for (const f of [() => t.join(), () => sim.sched.current()!.join()]) {
        try {
          await f();
        } catch (e) {
          codes.push((e as SchedError).code);
        }
      }
    });
    await sim.run();
    expect(codes).toEqual(['ESRCH', 'EDEADLK']);
  });

  it('two joiners: the second gets EINVAL; joining a detached thread gets EINVAL', async () => {
    const sim = new Simulation({ cpus: 1 });
    const codes: string[] = [];
    sim.sched.spawn(async () => {
      const t = sim.sched.spawn(async () => void (await sim.sched.sleep(5 * MS)));
      const first = sim.sched.spawn(() => t.join());
      await sim.sched.sleep(MS);
      try {
        await t.join();
      } catch (e) {
        codes.push((e as SchedError).code);
      }
      await first.join();
      const d = sim.sched.spawn(async () => void (await sim.sched.sleep(MS)), { detached: true });
      try {
        await d.join();
      } catch (e) {
        codes.push((e as SchedError).code);
      }
    });
    await sim.run();
    expect(codes).toEqual(['EINVAL', 'EINVAL']);
  });

  it('a detached thread frees its slot; what it throws goes to onThreadError', async () => {
    const errors: unknown[] = [];
    const sim = new Simulation({ cpus: 1, threads: 4, onThreadError: (e) => errors.push(e) });
    sim.sched.spawn(async () => {
      for (let i = 0; i < 10; i++) {
        // Only 3 usable slots: this works only if finished detached threads give theirs back.
        const t = sim.sched.spawn(() => {
          if (i === 3) throw new Error('detached failure');
        });
        t.detach();
        await sim.sched.sleep(MS);
      }
    }, { detached: true });
    await sim.run();
    expect(errors.map((e) => (e as Error).message)).toEqual(['detached failure']);
  });

  it('runs out of thread slots with EAGAIN', () => {
    const sim = new Simulation({ cpus: 1, threads: 3 });
    sim.sched.spawn(() => undefined);
    sim.sched.spawn(() => undefined);
    expect(() => sim.sched.spawn(() => undefined)).toThrowError(/out of thread slots/);
  });

  it('validates spawn options', () => {
    const sim = new Simulation({ cpus: 2 });
    expect(() => sim.sched.spawn(() => 1, { priority: 0 })).toThrowError(SchedError);
    expect(() => sim.sched.spawn(() => 1, { realtime: 1.5 })).toThrowError(SchedError);
    expect(() => sim.sched.spawn(() => 1, { cpu: 2 })).toThrowError(/no CPU 2/);
    expect(() => sim.sched.spawnEntry(9)).toThrowError(/entry 9 is not defined/);
  });
});

describe('per-thread services', () => {
  it('thread-local values are separate per thread', async () => {
    const sim = new Simulation({ cpus: 2 });
    const tls = sim.sched.threadLocal(() => ({ n: 0 }));
    const seen: number[] = [];
    for (let i = 1; i <= 3; i++) {
      sim.sched.spawn(async () => {
        tls.get().n += i;
        await sim.compute(MS);
        tls.get().n += i;
        seen.push(tls.get().n);
      });
    }
    await sim.run();
    expect(seen.sort()).toEqual([2, 4, 6]);
    expect(() => tls.get()).toThrowError(/only a green thread/);
  });

  it('sleep wakes at its deadline; timers fire in deadline order and cancel cheaply', async () => {
    const sim = new Simulation({ cpus: 1 });
    const fired: string[] = [];
    let woke = 0;
    sim.sched.spawn(async () => {
      const t1 = sim.sched.timer(() => fired.push(`t1@${sim.nowNs / MS}`));
      const t2 = sim.sched.timer(() => fired.push(`t2@${sim.nowNs / MS}`));
      const t3 = sim.sched.timer(() => fired.push('t3'));
      t1.armAt(3 * MS);
      t2.armAt(2 * MS);
      t3.armAt(1 * MS);
      t3.cancel();
      t1.armAt(4 * MS); // later: stays in the heap, re-keyed when it surfaces
      t2.armAt(1.5 * MS); // earlier: sifted up
      expect(t1.armed && t2.armed && !t3.armed).toBe(true);
      await sim.sched.sleep(10 * MS);
      woke = sim.nowNs;
    });
    await sim.run();
    expect(fired).toEqual(['t2@1.5', 't1@4']);
    expect(woke).toBe(10 * MS);
  });

  it('a timer must be armed on its own CPU', async () => {
    const sim = new Simulation({ cpus: 2 });
    let err: unknown;
    const t = sim.sched.timer(() => undefined, 0);
    sim.sched.spawn(() => {
      try {
        t.armAfter(MS);
      } catch (e) {
        err = e;
      }
    }, { cpu: 1 });
    await sim.run();
    expect((err as SchedError).code).toBe('EINVAL');
  });

  it('yield lets the queue head run first; with nothing queued it returns undefined', async () => {
    const sim = new Simulation({ cpus: 1 });
    const log: string[] = [];
    sim.sched.spawn(async () => {
      expect(sim.sched.yield()).toBeUndefined();
      sim.sched.spawn(() => void log.push('b'));
      log.push('a1');
      const p = sim.sched.yield();
      expect(p).toBeInstanceOf(Promise);
      await p;
      log.push('a2');
    });
    await sim.run();
    expect(log).toEqual(['a1', 'b', 'a2']);
  });

  it('accounts CPU time per thread, and publishes it for other CPUs', async () => {
    const sim = new Simulation({ cpus: 2 });
    const a = sim.sched.spawn(async () => {
      await sim.compute(30 * MS);
      await sim.sched.sleep(50 * MS);
      await sim.compute(20 * MS);
    });
    await sim.run();
    expect(a.cpuTimeNs()).toBe(50 * MS);
  });

  it('waitUntil re-checks its predicate at each wake(); wake() of a thread not waiting returns false', async () => {
    const sim = new Simulation({ cpus: 2 });
    let flag = 0;
    let checks = 0;
    const waiter = sim.sched.spawn(async () => {
      await sim.sched.waitUntil(() => {
        checks++;
        return flag === 2;
      });
    }, { cpu: 0 });
    const results: boolean[] = [];
    sim.sched.spawn(async () => {
      await sim.compute(MS);
      flag = 1;
      results.push(sim.sched.wake(waiter.id)); // spurious for the predicate
      await sim.compute(MS);
      flag = 2;
      results.push(sim.sched.wake(waiter.id));
      await sim.compute(MS);
      results.push(sim.sched.wake(waiter.id));
    }, { cpu: 1 });
    await sim.run();
    expect(results).toEqual([true, true, false]);
    expect(checks).toBe(3);
  });

  it('a semaphore wait is not ended by a raw wake()', async () => {
    const sim = new Simulation({ cpus: 1 });
    const s = sim.sched.semaphore(0);
    let done = -1;
    const t = sim.sched.spawn(async () => {
      const p = s.wait();
      if (p) await p;
      done = sim.nowNs;
    });
    sim.sched.spawn(async () => {
      await sim.sched.sleep(MS);
      expect(sim.sched.wake(t.id)).toBe(false);
      await sim.sched.sleep(MS);
      s.post();
    });
    await sim.run();
    expect(done).toBe(2 * MS);
  });
});

describe('entry threads and preemption points', () => {
  it('spawnEntry runs a registered entry with its arguments on the least-loaded CPU', async () => {
    const sim = new Simulation({ cpus: 4 });
    const seen: string[] = [];
    sim.sched.defineEntry(1, async (a, b) => {
      seen.push(`${a}+${b}@${sim.sched.current()!.cpu}`);
      await sim.compute(MS);
      return a + b;
    });
    const ids = [0, 1, 2, 3].map((i) => sim.sched.spawnEntry(1, i, 10));
    let sum = 0;
    sim.sched.spawn(async () => {
      for (const id of ids) sum += (await sim.sched.join(id)) as number;
    });
    await sim.run();
    expect(sum).toBe(46);
    expect(new Set(seen.map((s) => s.split('@')[1])).size).toBe(4);
  });

  it('preemptionPoint switches only when the flag is raised or the slice is over', async () => {
    const sim = new Simulation({ cpus: 1 });
    const log: string[] = [];
    sim.sched.spawn(async () => {
      expect(sim.sched.preemptionPoint()).toBeUndefined(); // alone: nothing to do
      sim.sched.spawn(() => void log.push('other'));
      // The new thread (R = 0) is not ahead by more than the hysteresis yet: keep running.
      expect(sim.sched.preemptionPoint()).toBeUndefined();
      await sim.compute(20 * MS);
      log.push('hog');
    });
    await sim.run();
    expect(log).toEqual(['other', 'hog']);
  });

  it('reports its area size and refuses a buffer that is too small', () => {
    expect(schedulerAreaBytes(2, 64, 16)).toBeGreaterThan(0);
    expect(() =>
      Scheduler.create({ cpus: 2, threads: 64, syncObjects: 16, clock: { nowNs: () => 0 }, buffer: new SharedArrayBuffer(1024) }),
    ).toThrowError(/needs \d+ bytes/);
    expect(() => Scheduler.attach({ buffer: new SharedArrayBuffer(4096), localCpus: [0], clock: { nowNs: () => 0 } })).toThrowError(
      /no scheduler area/,
    );
  });
});

describe('pin', () => {
  it('moves an unstarted thread and keeps it there; a started one cannot move (ENOTSUP)', async () => {
    const sim = new Simulation({ cpus: 3 });
    let ranOn = -1;
    let code = '';
    sim.sched.spawn(async () => {
      const t = sim.sched.spawn(() => void (ranOn = sim.sched.current()!.cpu), { cpu: 0 });
      t.pin(2);
      expect(t.cpu).toBe(2);
      const me = sim.sched.current()!;
      me.pin(0); // where it is: fine
      try {
        me.pin(1);
      } catch (e) {
        code = (e as SchedError).code;
      }
      await t.join();
    }, { cpu: 0, realtime: 1 });
    await sim.run();
    expect(ranOn).toBe(2);
    expect(code).toBe('ENOTSUP');
  });
});
