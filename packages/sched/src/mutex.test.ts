/**
 * The cross-vCPU mutex, condition variable, semaphore, rwlock and wait queue,
 * driven deterministically by the simulation (threads on several virtual
 * CPUs, so the cross-CPU wake paths run too).
 */
import { describe, expect, it } from 'vitest';
import { Simulation } from './sim/simulation.js';
import { SchedError } from './errors.js';

const MS = 1_000_000;

async function settle<T>(p: Promise<T> | T | undefined): Promise<void> {
  if (p !== undefined) await p;
}

describe('Mutex', () => {
  it('excludes: 8 threads on 4 CPUs incrementing under it never overlap', async () => {
    const sim = new Simulation({ cpus: 4 });
    const m = sim.sched.mutex();
    let inside = 0;
    let maxInside = 0;
    let count = 0;
    for (let i = 0; i < 8; i++) {
      sim.sched.spawn(async () => {
        for (let r = 0; r < 50; r++) {
          await settle(m.lock());
          inside++;
          maxInside = Math.max(maxInside, inside);
          await sim.compute(0.1 * MS);
          count++;
          inside--;
          m.unlock();
          await sim.compute(0.05 * MS);
        }
      });
    }
    const r = await sim.run();
    expect(r.quiescent).toBe(true);
    expect(count).toBe(400);
    expect(maxInside).toBe(1);
    expect(m.owner).toBe(0);
  });

  it('hands off in FIFO order: a thread that re-locks at once cannot starve the waiters', async () => {
    const sim = new Simulation({ cpus: 1 });
    const m = sim.sched.mutex();
    const order: string[] = [];
    sim.sched.spawn(async () => {
      await settle(m.lock());
      await sim.compute(30 * MS); // long enough for b and c to run and queue on the mutex
      for (let i = 0; i < 3; i++) {
        m.unlock();
        await settle(m.lock()); // re-lock immediately: must queue behind b and c
        order.push('a');
      }
      m.unlock();
    });
    for (const name of ['b', 'c']) {
      sim.sched.spawn(async () => {
        await settle(m.lock());
        order.push(name);
        await sim.compute(MS);
        m.unlock();
      });
    }
    await sim.run();
    expect(order).toEqual(['b', 'c', 'a', 'a', 'a']);
  });

  it('is recursive, and unlock by a non-owner throws EPERM', async () => {
    const sim = new Simulation({ cpus: 1 });
    const m = sim.sched.mutex();
    let err: unknown;
    sim.sched.spawn(async () => {
      await settle(m.lock());
      await settle(m.lock());
      expect(m.depth).toBe(2);
      m.unlock();
      expect(m.owner).toBe(sim.sched.current()!.id);
      const other = sim.sched.spawn(() => {
        try {
          m.unlock();
        } catch (e) {
          err = e;
        }
      });
      await other.join();
      m.unlock();
      expect(m.owner).toBe(0);
    });
    await sim.run();
    expect(err).toBeInstanceOf(SchedError);
    expect((err as SchedError).code).toBe('EPERM');
    expect((err as SchedError).errno).toBe(1);
  });

  it('tryLock and lockTimeout give up without the lock', async () => {
    const sim = new Simulation({ cpus: 2 });
    const m = sim.sched.mutex();
    const got: boolean[] = [];
    sim.sched.spawn(async () => {
      await settle(m.lock());
      await sim.compute(20 * MS);
      m.unlock();
    }, { cpu: 0 });
    sim.sched.spawn(async () => {
      await sim.compute(MS);
      got.push(m.tryLock());
      got.push(await m.lockTimeout(5 * MS));
      got.push(await m.lockTimeout(50 * MS));
      m.unlock();
    }, { cpu: 1 });
    await sim.run();
    expect(got).toEqual([false, false, true]);
    expect(m.owner).toBe(0);
  });

  it('throws EPERM when locked outside a thread', () => {
    const sim = new Simulation({ cpus: 1 });
    expect(() => sim.sched.mutex().lock()).toThrowError(/only a green thread/);
  });
});

describe('CondVar', () => {
  it('a signalled waiter resumes owning the mutex (wait morphing), in FIFO order', async () => {
    const sim = new Simulation({ cpus: 3 });
    const m = sim.sched.mutex();
    const cv = sim.sched.condVar();
    const woke: number[] = [];
    let ready = 0;
    for (let i = 0; i < 3; i++) {
      sim.sched.spawn(async () => {
        await sim.compute((i + 1) * MS);
        await settle(m.lock());
        ready++;
        await settle(cv.wait(m));
        expect(m.owner).toBe(sim.sched.current()!.id);
        woke.push(i);
        m.unlock();
      }, { cpu: i });
    }
    sim.sched.spawn(async () => {
      await sim.compute(10 * MS);
      await settle(m.lock());
      expect(ready).toBe(3);
      cv.signal();
      cv.signal();
      m.unlock();
      await sim.compute(10 * MS);
      cv.broadcast();
    }, { cpu: 0 });
    await sim.run();
    expect(woke).toEqual([0, 1, 2]);
  });

  it('waitTimeout returns false after the timeout, holding the mutex again', async () => {
    const sim = new Simulation({ cpus: 1 });
    const m = sim.sched.mutex();
    const cv = sim.sched.condVar();
    let result: boolean | undefined;
    let at = 0;
    sim.sched.spawn(async () => {
      await settle(m.lock());
      await settle(m.lock()); // depth 2 is restored too
      result = await cv.waitTimeout(m, 7 * MS);
      at = sim.nowNs;
      expect(m.owner).toBe(sim.sched.current()!.id);
      expect(m.depth).toBe(2);
      m.unlock();
      m.unlock();
    });
    await sim.run();
    expect(result).toBe(false);
    expect(at).toBeGreaterThanOrEqual(7 * MS);
  });

  it('wait without holding the mutex throws EPERM', async () => {
    const sim = new Simulation({ cpus: 1 });
    const m = sim.sched.mutex();
    const cv = sim.sched.condVar();
    let err: unknown;
    sim.sched.spawn(() => {
      try {
        cv.wait(m);
      } catch (e) {
        err = e;
      }
    });
    await sim.run();
    expect((err as SchedError).code).toBe('EPERM');
  });

  it('WaitQueue is the condvar under OSv names', async () => {
    const sim = new Simulation({ cpus: 2 });
    const m = sim.sched.mutex();
    const wq = sim.sched.waitQueue();
    let flag = false;
    let seen = false;
    sim.sched.spawn(async () => {
      await settle(m.lock());
      while (!flag) await settle(wq.wait(m));
      seen = true;
      m.unlock();
    }, { cpu: 0 });
    sim.sched.spawn(async () => {
      await sim.compute(MS);
      await settle(m.lock());
      flag = true;
      wq.wakeOne();
      m.unlock();
    }, { cpu: 1 });
    await sim.run();
    expect(seen).toBe(true);
  });
});

describe('Semaphore', () => {
  it('counts, and post hands units to waiters in FIFO order', async () => {
    const sim = new Simulation({ cpus: 3 });
    const s = sim.sched.semaphore(2);
    const arrived: number[] = [];
    const got: number[] = [];
    for (let i = 0; i < 6; i++) {
      sim.sched.spawn(async () => {
        await sim.sched.sleep((6 - i) * MS); // arrive in the order 5, 4, ..., 0
        arrived.push(i);
        await settle(s.wait());
        got.push(i);
      }, { cpu: i % 2 });
    }
    sim.sched.spawn(async () => {
      await sim.sched.sleep(20 * MS);
      expect(s.value).toBe(0);
      for (let k = 0; k < 4; k++) {
        s.post();
        await sim.sched.sleep(MS);
      }
      s.post(3); // 2 + 4 + 3 units for 6 waits: 3 left
    }, { cpu: 2 });
    await sim.run();
    expect(arrived).toEqual([5, 4, 3, 2, 1, 0]);
    expect(got).toEqual(arrived);
    expect(s.value).toBe(3);
  });

  it('tryWait, waitTimeout, and post from a timer callback', async () => {
    const sim = new Simulation({ cpus: 1 });
    const s = sim.sched.semaphore(0);
    const res: boolean[] = [];
    sim.sched.spawn(async () => {
      res.push(s.tryWait());
      res.push(await s.waitTimeout(3 * MS));
      const t = sim.sched.timer(() => s.post());
      t.armAfter(2 * MS);
      res.push(await s.waitTimeout(10 * MS));
    });
    await sim.run();
    expect(res).toEqual([false, false, true]);
  });

  it('rejects a bad count', () => {
    const sim = new Simulation({ cpus: 1 });
    expect(() => sim.sched.semaphore(-1)).toThrowError(SchedError);
    expect(() => sim.sched.semaphore(0).post(1.5)).toThrowError(/bad count/);
  });
});

describe('RwLock', () => {
  it('lets readers share and writers exclude, serving arrivals in order', async () => {
    const sim = new Simulation({ cpus: 4 });
    const rw = sim.sched.rwLock();
    const log: string[] = [];
    let readers = 0;
    let writers = 0;
    const reader = (name: string, at: number) =>
      sim.sched.spawn(async () => {
        await sim.compute(at);
        await settle(rw.readLock());
        readers++;
        expect(writers).toBe(0);
        log.push(`${name}+`);
        await sim.compute(5 * MS);
        readers--;
        rw.unlock();
      });
    const writer = (name: string, at: number) =>
      sim.sched.spawn(async () => {
        await sim.compute(at);
        await settle(rw.writeLock());
        writers++;
        expect(readers).toBe(0);
        expect(writers).toBe(1);
        log.push(`${name}+`);
        await sim.compute(5 * MS);
        writers--;
        rw.unlock();
      });
    reader('r1', 1 * MS);
    reader('r2', 1.5 * MS);
    writer('w1', 2 * MS); // waits for r1, r2
    reader('r3', 3 * MS); // queues behind w1: no writer starvation
    writer('w2', 4 * MS);
    await sim.run();
    expect(log).toEqual(['r1+', 'r2+', 'w1+', 'r3+', 'w2+']);
    expect(rw.readers).toBe(0);
    expect(rw.writer).toBe(0);
  });

  it('a writer timing out at the head lets the readers behind it in', async () => {
    const sim = new Simulation({ cpus: 1 });
    const rw = sim.sched.rwLock();
    const res: (string | boolean)[] = [];
    sim.sched.spawn(async () => {
      await settle(rw.readLock());
      await sim.compute(20 * MS);
      rw.unlock();
    });
    sim.sched.spawn(async () => {
      await sim.compute(MS);
      res.push(await rw.lockTimeout(true, 5 * MS));
    });
    sim.sched.spawn(async () => {
      await sim.compute(2 * MS);
      await settle(rw.readLock());
      res.push(`read@${sim.nowNs / MS}`);
      rw.unlock();
    });
    await sim.run();
    expect(res[0]).toBe(false);
    expect(res[1]).toMatch(/^read@/);
    expect(Number(String(res[1]).slice(5))).toBeLessThan(20);
  });

  it('tryReadLock/tryWriteLock and unlock without a hold', async () => {
    const sim = new Simulation({ cpus: 1 });
    const rw = sim.sched.rwLock();
    const r: unknown[] = [];
    sim.sched.spawn(() => {
      r.push(rw.tryWriteLock(), rw.tryReadLock());
      rw.unlock();
      r.push(rw.tryReadLock(), rw.tryReadLock(), rw.tryWriteLock());
      rw.unlock();
      rw.unlock();
      try {
        rw.unlock();
      } catch (e) {
        r.push((e as SchedError).code);
      }
    });
    await sim.run();
    expect(r).toEqual([true, false, true, true, false, 'EPERM']);
  });
});

describe('sharing objects by ref', () => {
  it('attaches to an existing object and refuses a ref of the wrong kind', () => {
    const sim = new Simulation({ cpus: 1 });
    const m = sim.sched.mutex();
    expect(sim.sched.mutex(m.ref).ref).toBe(m.ref);
    expect(() => sim.sched.semaphore(0, m.ref)).toThrowError(/does not name a semaphore/);
    expect(() => sim.sched.condVar(12345)).toThrowError(SchedError);
    m.destroy();
    expect(() => sim.sched.mutex(m.ref)).toThrowError(/does not name a mutex/);
  });

  it('runs out of sync blocks with EAGAIN, and destroy returns them', () => {
    const sim = new Simulation({ cpus: 1, syncObjects: 3 });
    const a = sim.sched.mutex();
    sim.sched.mutex();
    expect(() => sim.sched.mutex()).toThrowError(/no free synchronisation block/);
    a.destroy();
    expect(sim.sched.semaphore(1).value).toBe(1);
  });
});
