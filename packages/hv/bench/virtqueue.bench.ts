/**
 * Virtqueue round trips per second between a vCPU worker and the hv's
 * device side, in a booted VM: the guest (test-apps/blockcheck, `bench
 * idrtt`) sends virtio-blk GET_ID requests — a three-buffer chain the device
 * answers at once, with no host I/O — through the kernel's driver and I/O
 * poller, with 1 and with 32 requests outstanding, in three configurations:
 *
 *   suppression, 4 turns    EVENT_IDX offered, interrupts off while the
 *                           poller turns, 4 idle turns before it arms them
 *                           and sleeps (the defaults)
 *   suppression, 64 turns   the same, polling 64 idle turns
 *   suppression, no polling the poller arms and sleeps at the first idle turn
 *   no suppression          EVENT_IDX not offered, interrupts always on and
 *                           taken (and acknowledged) every turn, no polling
 *
 * (Cpu.idle itself spins on the interrupt word for a while before it
 * sleeps, in every mode.)
 *
 * Baseline, measured in the same run: the bare cross-thread round trip the
 * machine is built on — a worker thread and the main thread bouncing a
 * shared word with Atomics.notify / Atomics.wait (worker) and
 * Atomics.waitAsync (main, as the hv's exit server waits) — with no virtio in
 * between. Medians of RUNS boots.
 *
 *   cd packages/hv && node ../../scripts/run-bench.mjs virtqueue
 */
import { Worker } from 'node:worker_threads';
import { testAppImage } from '../src/testing/testImages.js';
import { guest, median, table } from './benchSupport.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const OPS = 20_000;

/** Round trips per second of a worker ↔ main-thread ping-pong on one shared word. */
async function pingPong(rounds: number): Promise<number> {
  const sab = new SharedArrayBuffer(8);
  const w = new Int32Array(sab);
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const w = new Int32Array(workerData.sab);
     for (let i = 1; i <= workerData.rounds; i++) {
       Atomics.store(w, 0, 2 * i - 1); Atomics.notify(w, 0);
       while (Atomics.load(w, 0) !== 2 * i) Atomics.wait(w, 0, 2 * i - 1);
     }`,
    { eval: true, workerData: { sab, rounds } },
  );
  const t0 = performance.now();
  for (let i = 1; i <= rounds; i++) {
    while (Atomics.load(w, 0) !== 2 * i - 1) {
      const r = Atomics.waitAsync(w, 0, Atomics.load(w, 0));
      if (r.async) await r.value;
    }
    Atomics.store(w, 0, 2 * i);
    Atomics.notify(w, 0);
  }
  const secs = (performance.now() - t0) / 1000;
  await worker.terminate();
  return rounds / secs;
}

const img = testAppImage('blockcheck');
const disk = `${process.env['TMPDIR'] ?? '/tmp'}/osv-bench-vq.img`;
const { writeFileSync, truncateSync } = await import('node:fs');
writeFileSync(disk, '');
truncateSync(disk, 1 << 20);

const modes = [
  { name: 'suppression, 4 turns', eventIdx: true, flags: '' },
  { name: 'suppression, 64 turns', eventIdx: true, flags: '--poll-turns 64' },
  { name: 'suppression, no polling', eventIdx: true, flags: '--poll-turns 0' },
  { name: 'no suppression', eventIdx: false, flags: '--poll-turns 0 --no-suppress' },
] as const;

await pingPong(2000); // warm-up
for (const inflight of [1, 32]) {
  const base: number[] = [];
  const results = new Map<string, number[]>(modes.map((m) => [m.name, []]));
  for (let r = 0; r < RUNS; r++) {
    base.push(await pingPong(OPS));
    for (const m of modes) {
      const res = await guest(img, `/blockcheck.js bench idrtt --count ${OPS} --inflight ${inflight} ${m.flags}`, { disks: [disk], eventIdx: m.eventIdx });
      results.get(m.name)!.push(res['perSecond']!);
    }
  }
  const b = median(base);
  console.log(`\n${inflight} request${inflight > 1 ? 's' : ''} outstanding (median of ${RUNS})`);
  table([
    ['baseline: worker <-> main Atomics ping-pong', b, 'round trips/s'],
    ...modes.map((m) => [`virtio-blk GET_ID, ${m.name}`, median(results.get(m.name)!), 'round trips/s', median(results.get(m.name)!) / b] as const),
  ]);
}
