/**
 * Placement and load balancing at scale under the simulated clock: 64 CPUs,
 * 1,000 threads placed or balanced evenly; 100k threads run to completion.
 * The balancer moves only threads that have not started (a started thread's
 * continuation cannot leave its isolate), as the README explains.
 */
import { describe, expect, it } from 'vitest';
import { Simulation } from './simulation.js';
import type { Thread } from '../thread.js';

const MS = 1_000_000;
const SOAK = process.env.OSV_SOAK !== undefined;

function spread(counts: number[]): number {
  return Math.max(...counts) - Math.min(...counts);
}

describe('placement of new threads', () => {
  it('1,000 threads spawned in one burst land on the least-loaded of 64 CPUs: 15 or 16 each', async () => {
    const sim = new Simulation({ cpus: 64, threads: 2048 });
    let stop = false;
    const threads: Thread[] = [];
    sim.sched.spawn(
      async () => {
        for (let i = 0; i < 1000; i++) {
          threads.push(
            sim.sched.spawn(async () => {
              while (!stop) await sim.compute(100 * MS);
            }),
          );
        }
      },
      { cpu: 0 },
    );
    await sim.run({ untilNs: 2000 * MS });
    stop = true;
    const perCpu = new Array<number>(64).fill(0);
    for (const t of threads) perCpu[t.cpu]!++;
    expect(perCpu.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(spread(perCpu)).toBeLessThanOrEqual(1);
    // And each CPU's threads shared it: every thread got CPU time.
    for (const t of threads) expect(t.cpuTimeNs()).toBeGreaterThan(50 * MS);
    expect(sim.sched.corruptCount()).toBe(0);
  });
});

describe('the balancer', () => {
  it('evens 1,000 new threads queued on one CPU over 64 CPUs, moving only unstarted ones', async () => {
    const sim = new Simulation({ cpus: 64, threads: 2048 });
    let stop = false;
    const firstCpu = new Map<number, number>();
    const threads: Thread[] = [];
    // A real-time thread keeps CPU 0 busy, so the threads queued there cannot start before the balancer moves them.
    sim.sched.spawn(
      async () => {
        for (let i = 0; i < 1000; i++) {
          const t = sim.sched.spawn(
            async () => {
              const me = sim.sched.current()!;
              firstCpu.set(me.id, me.cpu);
              while (!stop) await sim.compute(1000 * MS);
            },
            { cpu: 0 },
          );
          threads.push(t);
        }
        await sim.compute(110_000 * MS);
      },
      { cpu: 0, realtime: 1, pinned: true },
    );
    await sim.run({ untilNs: 100_000 * MS });
    const homed = new Array<number>(64).fill(0);
    for (const t of threads) homed[t.cpu]!++;
    // CPU 0 sheds one thread per 100 ms while its load exceeds another CPU's by more than 1.
    expect(sim.sched.stats(0).migrationsOut).toBeGreaterThan(900);
    const others = homed.slice(1);
    expect(spread(others)).toBeLessThanOrEqual(1);
    expect(Math.abs(homed[0]! - Math.min(...others))).toBeLessThanOrEqual(2);
    await sim.run({ untilNs: 112_000 * MS });
    stop = true;
    // Every thread started, and none moved after it started.
    expect(firstCpu.size).toBe(1000);
    for (const t of threads) expect(firstCpu.get(t.id)).toBe(t.cpu);
    expect(sim.sched.corruptCount()).toBe(0);
  });

  it('does not move pinned threads', async () => {
    const sim = new Simulation({ cpus: 4 });
    let stop = false;
    const ts: Thread[] = [];
    sim.sched.spawn(
      async () => {
        for (let i = 0; i < 20; i++) ts.push(sim.sched.spawn(async () => void (await sim.compute(MS)), { cpu: 0, pinned: true }));
        await sim.compute(2000 * MS);
        stop = true;
      },
      { cpu: 0, realtime: 1 },
    );
    await sim.run({ untilNs: 3000 * MS });
    expect(stop).toBe(true);
    for (const t of ts) expect(t.cpu).toBe(0);
    expect(sim.sched.stats(0).migrationsOut).toBe(0);
  });
});

async function scale(n: number): Promise<void> {
  const sim = new Simulation({ cpus: 64, threads: n + 1 });
  let finished = 0;
  const cpuWork = new Array<number>(64).fill(0);
  for (let i = 0; i < n; i++) {
    sim.sched.spawn(
      async () => {
        await sim.compute(MS);
        await sim.sched.sleep(5 * MS);
        await sim.compute(MS);
        cpuWork[sim.sched.current()!.cpu]! += 2 * MS;
        finished++;
      },
      { detached: true },
    );
  }
  const r = await sim.run();
  expect(r.quiescent).toBe(true);
  expect(finished).toBe(n);
  const mean = (2 * MS * n) / 64;
  for (const w of cpuWork) expect(Math.abs(w - mean) / mean).toBeLessThan(0.05);
  expect(sim.sched.corruptCount()).toBe(0);
  // Every slot came back (detached threads free themselves): the next n spawns need no new slots.
  for (let i = 0; i < n; i++) sim.sched.spawn(() => undefined, { detached: true });
  expect((await sim.run()).quiescent).toBe(true);
}

describe('scale', () => {
  it('runs 100,000 threads on 64 CPUs to completion with even work per CPU', () => scale(100_000));
  // 400k threads need about 1 GB of heap and 10+ s: soak only.
  it.skipIf(!SOAK)('soak: runs 400,000 threads on 64 CPUs to completion', () => scale(400_000), 600_000);
});
