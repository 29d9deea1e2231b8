/**
 * OSv's context-switch table on real vCPUs in booted images (the OSv paper:
 * OSv 328 ns colocated, 1,402 ns apart; Linux 905 ns and 13,148 ns).
 *
 *   colocated: two scheduler threads on vCPU 0 alternating through two
 *              semaphores (test-apps/schedcheck `switch colocated`, 1 vCPU).
 *   apart:     the same with one thread on vCPU 0 and one on vCPU 1
 *              (`switch apart`, 2 vCPUs): wake-ups cross vCPUs through the
 *              scheduler's incoming queues and IPIs.
 *   baseline:  two Node worker threads alternating with plain
 *              Atomics.wait/notify (packages/sched/bench/atomicsPingPong.mjs,
 *              what two OS threads through a futex cost), in a child process
 *              under `taskset -c 0` (one core) and `taskset -c 0,1` (two).
 *
 * The guest times ROUNDS round trips (2 switches each) with the scheduler's
 * clock after a warm-up of ROUNDS/10, so boot is excluded; each run boots a
 * fresh VM. Prints ns per switch (one hand-off from one thread to the
 * other), medians of RUNS runs, and the ratio to the baseline of the same
 * shape.
 *
 *   cd packages/hv && node ../../scripts/run-bench.mjs schedSwitch
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testAppImage } from '../src/testing/testImages.js';
import { guest, median } from './benchSupport.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const ROUNDS = 100_000; // 200k switches per run
const BASELINE_ROUNDS = 20_000;

const image = testAppImage('schedcheck');

async function inGuest(shape: 'colocated' | 'apart'): Promise<number> {
  const j = await guest(image, `/schedcheck.js switch ${shape} ${ROUNDS}`, { cpus: shape === 'apart' ? 2 : 1 });
  if (j['answered'] !== ROUNDS || j['mismatched'] !== 0) throw new Error(`switch ${shape}: lost round trips ${JSON.stringify(j)}`);
  return j['nsPerSwitch']!;
}

function baseline(cpus: string): number[] {
  const script = fileURLToPath(new URL('../../sched/bench/atomicsPingPong.mjs', import.meta.url));
  const r = spawnSync('taskset', ['-c', cpus, process.execPath, script, String(BASELINE_ROUNDS), String(RUNS)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`baseline under taskset -c ${cpus} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as number[];
}

const fmt = (ns: number): string => `${ns.toFixed(0).padStart(8)} ns`;
const runs = (xs: readonly number[]): string => `[${xs.map((x) => x.toFixed(0)).join(', ')}]`;

const colocated: number[] = [];
for (let i = 0; i < RUNS; i++) colocated.push(await inGuest('colocated'));
const apart: number[] = [];
for (let i = 0; i < RUNS; i++) apart.push(await inGuest('apart'));
const base1 = baseline('0');
const base2 = baseline('0,1');

const c = median(colocated);
const a = median(apart);
const b1 = median(base1);
const b2 = median(base2);
console.log(`context switch on vCPUs in a booted image, ns per switch (median of ${RUNS} runs, ${2 * ROUNDS} switches each)`);
console.log(`                      osv-ts     baseline (Atomics.wait/notify)   ratio   | OSv paper: OSv / Linux`);
console.log(`  colocated (1 vCPU)${fmt(c)}   ${fmt(b1)} (taskset -c 0)      ${(c / b1).toFixed(3)}x  |   328 /    905 ns`);
console.log(`  apart (2 vCPUs)   ${fmt(a)}   ${fmt(b2)} (taskset -c 0,1)    ${(a / b2).toFixed(3)}x  | 1,402 / 13,148 ns`);
console.log(`  runs: colocated ${runs(colocated)}`);
console.log(`        apart     ${runs(apart)}`);
console.log(`        base 1cpu ${runs(base1)}`);
console.log(`        base 2cpu ${runs(base2)}`);
