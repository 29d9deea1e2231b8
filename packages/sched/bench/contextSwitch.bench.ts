/**
 * OSv's context-switch table, reproduced (the OSv paper: OSv 328 ns colocated,
 * 1,402 ns apart; Linux 905 ns and 13,148 ns).
 *
 *   colocated: two green threads on one CPU alternating through two
 *              semaphores (this process's main thread, one CPU).
 *   apart:     the same on two CPUs: two worker threads, each running its own
 *              scheduler over one shared area, the semaphores and wake-ups in
 *              shared memory.
 *   baseline:  two Node worker threads alternating with plain
 *              Atomics.wait/notify (what two OS threads through a futex cost),
 *              in a child process pinned with `taskset -c 0` (one core) and
 *              `taskset -c 0,1` (two cores).
 *
 * Reports ns per switch (one hand-off from one thread to the other), the
 * median of several runs, and the ratio to the baseline of the same shape.
 * Run from the package folder: `node ../../scripts/run-bench.mjs contextSwitch`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runMain } from '../src/host.js';
import { runTwoWorkers } from '../src/host/testing/runWorkers.js';

const RUNS = 7;
const COLOCATED_SWITCHES = 1_000_000;
const APART_ROUNDS = 100_000;
const BASELINE_ROUNDS = 20_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function colocatedOnce(): Promise<number> {
  return runMain(async (s) => {
    const a = s.semaphore(0);
    const b = s.semaphore(0);
    const rounds = COLOCATED_SWITCHES / 2;
    const ping = s.spawn(async () => {
      for (let i = 0; i < rounds; i++) {
        a.post();
        const p = b.wait();
        if (p !== undefined) await p;
      }
    });
    const pong = s.spawn(async () => {
      for (let i = 0; i < rounds; i++) {
        const p = a.wait();
        if (p !== undefined) await p;
        b.post();
      }
    });
    const t0 = s.nowNs();
    await ping.join();
    await pong.join();
    return (s.nowNs() - t0) / COLOCATED_SWITCHES;
  });
}

async function apartOnce(): Promise<number> {
  const { results } = await runTwoWorkers({ mode: 'semping', n: APART_ROUNDS, k: APART_ROUNDS / 10, limitMs: 300_000 });
  return results[0]!.values['nsPerSwitch']!;
}

function baseline(cpus: string): number[] {
  const script = fileURLToPath(new URL('./atomicsPingPong.mjs', import.meta.url));
  const r = spawnSync('taskset', ['-c', cpus, process.execPath, script, String(BASELINE_ROUNDS), String(RUNS)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`baseline under taskset -c ${cpus} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as number[];
}

function fmt(ns: number): string {
  return `${ns.toFixed(0).padStart(8)} ns`;
}

await colocatedOnce(); // warm-up: JIT the scheduler's paths
const colocated: number[] = [];
for (let i = 0; i < RUNS; i++) colocated.push(await colocatedOnce());
const apart: number[] = [];
for (let i = 0; i < RUNS; i++) apart.push(await apartOnce());
const base1 = baseline('0');
const base2 = baseline('0,1');

const c = median(colocated);
const a = median(apart);
const b1 = median(base1);
const b2 = median(base2);
console.log(`context switch, ns per switch (median of ${RUNS} runs)`);
console.log(`                      osv-ts     baseline (Atomics.wait/notify)   ratio   | OSv paper: OSv / Linux`);
console.log(`  colocated (1 CPU) ${fmt(c)}   ${fmt(b1)} (taskset -c 0)      ${(c / b1).toFixed(3)}x  |   328 /    905 ns`);
console.log(`  apart (2 CPUs)    ${fmt(a)}   ${fmt(b2)} (taskset -c 0,1)    ${(a / b2).toFixed(3)}x  | 1,402 / 13,148 ns`);
console.log(`  runs: colocated [${colocated.map((x) => x.toFixed(0)).join(', ')}]`);
console.log(`        apart     [${apart.map((x) => x.toFixed(0)).join(', ')}]`);
console.log(`        base 1cpu [${base1.map((x) => x.toFixed(0)).join(', ')}]`);
console.log(`        base 2cpu [${base2.map((x) => x.toFixed(0)).join(', ')}]`);
