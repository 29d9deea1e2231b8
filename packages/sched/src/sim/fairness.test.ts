/**
 * OSv's fairness rules, checked deterministically under the simulated clock:
 * decayed run time with tau = 200 ms, priorities as weights, 5 ms hysteresis,
 * a long sleeper's burst bounded by about ln2·tau, real-time and idle
 * priorities, and renormalisation of the per-CPU normaliser.
 */
import { describe, expect, it } from 'vitest';
import { Simulation } from './simulation.js';
import { HYSTERESIS_NS, PRIORITY_IDLE, TAU_NS } from '../constants.js';

const MS = 1_000_000;

/** A CPU-bound thread body: computes in 1 ms pieces until `stop()` says so. */
function hog(sim: Simulation, stop: () => boolean): () => Promise<void> {
  return async () => {
    while (!stop()) await sim.compute(MS);
  };
}

describe('fair share on one CPU', () => {
  it('two CPU-bound threads of equal priority each get 50% ± 5%, in slices of about 2·thyst', async () => {
    const sim = new Simulation({ cpus: 1 });
    let stop = false;
    const a = sim.sched.spawn(hog(sim, () => stop));
    const b = sim.sched.spawn(hog(sim, () => stop));
    await sim.run({ untilNs: 4000 * MS });
    stop = true;
    const share = a.cpuTimeNs() / (a.cpuTimeNs() + b.cpuTimeNs());
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.55);
    expect(a.cpuTimeNs() + b.cpuTimeNs()).toBeGreaterThan(3990 * MS);
    // 4 s in slices of ~2·thyst = 10 ms: about 400 switches.
    const switches = sim.sched.stats(0).switches;
    expect(switches).toBeGreaterThan((4000 * MS) / (4 * HYSTERESIS_NS));
    expect(switches).toBeLessThan((4000 * MS) / (1.5 * HYSTERESIS_NS));
  });

  it('priority 0.5 against 1 gets two thirds of the CPU', async () => {
    const sim = new Simulation({ cpus: 1 });
    let stop = false;
    const fast = sim.sched.spawn(hog(sim, () => stop), { priority: 0.5 });
    const slow = sim.sched.spawn(hog(sim, () => stop), { priority: 1 });
    await sim.run({ untilNs: 6000 * MS });
    stop = true;
    const share = fast.cpuTimeNs() / (fast.cpuTimeNs() + slow.cpuTimeNs());
    expect(share).toBeGreaterThan(2 / 3 - 0.03);
    expect(share).toBeLessThan(2 / 3 + 0.03);
  });

  it('four equal threads get a quarter each', async () => {
    const sim = new Simulation({ cpus: 1 });
    let stop = false;
    const ts = [0, 1, 2, 3].map(() => sim.sched.spawn(hog(sim, () => stop)));
    await sim.run({ untilNs: 4000 * MS });
    stop = true;
    const total = ts.reduce((s, t) => s + t.cpuTimeNs(), 0);
    for (const t of ts) {
      expect(t.cpuTimeNs() / total).toBeGreaterThan(0.22);
      expect(t.cpuTimeNs() / total).toBeLessThan(0.28);
    }
  });

  it('a thread waking after a long sleep runs at once, and alone for no longer than about ln2·tau against a hog', async () => {
    const sim = new Simulation({ cpus: 1 });
    let stop = false;
    sim.sched.spawn(hog(sim, () => stop), { name: 'hog' });
    const wakeAt = 3000 * MS;
    let firstRun = -1;
    let burstEnd = -1;
    sim.sched.spawn(async () => {
      await sim.sched.sleepUntil(wakeAt);
      firstRun = sim.nowNs;
      for (;;) {
        const before = sim.nowNs;
        await sim.compute(MS / 10);
        // A piece that took longer than it computed: the hog ran in between.
        if (sim.nowNs - before > MS / 10) {
          burstEnd = before;
          break;
        }
      }
      stop = true;
    });
    await sim.run({ untilNs: 5000 * MS });
    expect(firstRun - wakeAt).toBeLessThan(0.05 * MS);
    const burst = burstEnd - firstRun;
    // ln2·tau = 138.6 ms, plus at most the hysteresis the scheduler lends it.
    expect(burst).toBeGreaterThan(Math.LN2 * TAU_NS - 2 * HYSTERESIS_NS);
    expect(burst).toBeLessThan(Math.LN2 * TAU_NS + 2 * HYSTERESIS_NS);
  });

  it('keeps sharing fairly across renormalisations of the normaliser (> 17.5 s of CPU time)', async () => {
    const sim = new Simulation({ cpus: 1 });
    let stop = false;
    const a = sim.sched.spawn(hog(sim, () => stop));
    const b = sim.sched.spawn(hog(sim, () => stop));
    // A sleeper that misses two or more renormalisations, then competes.
    let slept = 0;
    const c = sim.sched.spawn(async () => {
      await sim.sched.sleepUntil(40_000 * MS);
      slept = sim.nowNs;
      while (!stop) await sim.compute(MS);
    });
    const cpu = sim.sched.cpuObject(0);
    await sim.run({ untilNs: 40_000 * MS });
    expect(cpu.renorm).toBeGreaterThanOrEqual(2);
    expect(Number.isFinite(cpu.c) && cpu.c > 0).toBe(true);
    const share = a.cpuTimeNs() / (a.cpuTimeNs() + b.cpuTimeNs());
    expect(share).toBeGreaterThan(0.49);
    expect(share).toBeLessThan(0.51);
    const cBefore = c.cpuTimeNs();
    const aBefore = a.cpuTimeNs();
    await sim.run({ untilNs: 46_000 * MS });
    stop = true;
    expect(slept).toBe(40_000 * MS);
    // After the first ln2·tau burst the three share evenly: c gets about a third of the 6 s.
    const cShare = (c.cpuTimeNs() - cBefore) / (6000 * MS);
    expect(cShare).toBeGreaterThan(0.3);
    expect(cShare).toBeLessThan(0.4);
    expect(a.cpuTimeNs() - aBefore).toBeGreaterThan(1800 * MS);
  });
});

describe('priority classes', () => {
  it('an idle-priority thread runs only while nothing else can', async () => {
    const sim = new Simulation({ cpus: 1 });
    let stop = false;
    const idle = sim.sched.spawn(hog(sim, () => stop), { priority: PRIORITY_IDLE });
    const worker = sim.sched.spawn(async () => {
      await sim.compute(500 * MS);
      await sim.sched.sleep(300 * MS);
      await sim.compute(200 * MS);
    });
    await sim.run({ untilNs: 1500 * MS });
    stop = true;
    expect(worker.cpuTimeNs()).toBe(700 * MS);
    // It got the 300 ms sleep and the 500 ms after the worker finished, nothing before.
    expect(idle.cpuTimeNs()).toBeGreaterThan(790 * MS);
    expect(idle.cpuTimeNs()).toBeLessThan(810 * MS);
  });

  it('real-time threads run before every time-shared thread, higher priority first', async () => {
    const sim = new Simulation({ cpus: 1 });
    const order: string[] = [];
    const job = (name: string) => async () => {
      await sim.compute(10 * MS);
      order.push(name);
    };
    sim.sched.spawn(job('ts1'));
    sim.sched.spawn(job('rt1'), { realtime: 1 });
    sim.sched.spawn(job('ts2'));
    sim.sched.spawn(job('rt5'), { realtime: 5 });
    sim.sched.spawn(job('rt1b'), { realtime: 1 });
    await sim.run();
    expect(order.slice(0, 3)).toEqual(['rt5', 'rt1', 'rt1b']);
    expect(order.slice(3).sort()).toEqual(['ts1', 'ts2']);
  });

  it('a real-time thread waking preempts a running time-shared hog at once', async () => {
    const sim = new Simulation({ cpus: 1 });
    let stop = false;
    sim.sched.spawn(hog(sim, () => stop));
    let woke = -1;
    sim.sched.spawn(
      async () => {
        await sim.sched.sleepUntil(100 * MS);
        woke = sim.nowNs;
        await sim.compute(50 * MS);
        stop = true;
      },
      { realtime: 1 },
    );
    await sim.run({ untilNs: 1000 * MS });
    expect(woke).toBe(100 * MS);
  });
});
