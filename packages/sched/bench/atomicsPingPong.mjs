// Baseline for contextSwitch.bench.ts: two Node worker threads handing a turn
// back and forth with plain Atomics.wait / Atomics.notify (no spinning), the
// way two OS threads alternate through a futex. Run under `taskset` by the
// benchmark so the pair shares one core or gets two. Prints ns per switch
// (one hand-off), as JSON, for each of `runs` runs.
import { Worker } from 'node:worker_threads';

const n = Number(process.argv[2] ?? 20000);
const runs = Number(process.argv[3] ?? 5);

const code = `
const { workerData, parentPort } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const a = new Int32Array(workerData.sab);
const me = workerData.me;
const n = workerData.n;
Atomics.add(a, 1, 1);
Atomics.notify(a, 1);
while (Atomics.load(a, 1) < 2) Atomics.wait(a, 1, Atomics.load(a, 1), 10);
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  while (Atomics.load(a, 0) !== me) Atomics.wait(a, 0, 1 - me);
  Atomics.store(a, 0, 1 - me);
  Atomics.notify(a, 0);
}
parentPort.postMessage((performance.now() - t0) * 1e6 / (2 * n));
`;

async function once() {
  const sab = new SharedArrayBuffer(8);
  const ws = [0, 1].map((me) => new Worker(code, { eval: true, workerData: { sab, me, n } }));
  const r = await Promise.all(ws.map((w) => new Promise((res, rej) => { w.once('message', res); w.once('error', rej); })));
  await Promise.all(ws.map((w) => w.terminate()));
  return r[0];
}

const out = [];
for (let i = 0; i < runs; i++) out.push(await once());
console.log(JSON.stringify(out));
