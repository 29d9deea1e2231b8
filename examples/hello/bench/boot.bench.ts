/**
 * Boot benchmark: how long from "boot this image" to the app's first output,
 * in-process (Machine.boot) and as a whole `osv-run hello.img` process, beside
 * `node -e 0` and `node hello.js` (the same program on the host) measured in
 * the same run, with the breakdown of where a boot's time goes.
 *
 *   pnpm bench                       (all packages), or
 *   cd examples/hello && node ../../scripts/run-bench.mjs boot
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine, type BootTimeline } from '@osv-ts/hv';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 15);
const here = new URL('..', import.meta.url).pathname;
const root = join(here, '../..');
const img = join(mkdtempSync(join(tmpdir(), 'osv-boot-')), 'hello.img');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function timeProcess(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return ms;
}

async function bootToFirstOutput(bytes: Uint8Array, cpus: number): Promise<{ ms: number; t: BootTimeline }> {
  const t0 = process.hrtime.bigint();
  const m = await Machine.boot({ image: bytes, imageName: 'hello.img', cpus });
  await new Promise<void>((resolve) => m.console.once('data', () => resolve()));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  m.console.resume();
  await m.wait();
  return { ms, t: m.timeline() };
}

const built = spawnSync(process.execPath, [join(root, 'packages/image-builder/dist/cli.js'), here, '-o', img, '--quiet'], { stdio: 'inherit' });
if (built.status !== 0) throw new Error('osv-build failed: run `pnpm build` first');
const bytes = new Uint8Array(readFileSync(img));

const inproc: number[] = [];
const inproc2: number[] = [];
const parts: Record<string, number[]> = {};
const note = (k: string, v: number | undefined): void => {
  if (v !== undefined) (parts[k] ??= []).push(v);
};
await bootToFirstOutput(bytes, 1); // warm-up: module loading, first worker
for (let i = 0; i < ROUNDS; i++) {
  const { ms, t } = await bootToFirstOutput(bytes, 1);
  inproc.push(ms);
  const k = t.kernel;
  note('image read + verify', t.imageLoadMs);
  note('worker start (power-on to first worker line)', t.workerStartMs);
  note('guest realm (vm context + hw handle)', t.realmMs);
  note('kernel bundle compile + evaluate', t.kernelEvalMs);
  if (k.KERNEL_ENTRY !== undefined && k.CPUS_ONLINE !== undefined) note('boot page + SMP bring-up', k.CPUS_ONLINE - k.KERNEL_ENTRY);
  if (k.CPUS_ONLINE !== undefined && k.DEVICES_UP !== undefined) note('virtio probe + console and rng drivers', k.DEVICES_UP - k.CPUS_ONLINE);
  if (k.DEVICES_UP !== undefined && k.FS_MOUNTED !== undefined) note('mmu setup (page tables, allocator) + rofs mount', k.FS_MOUNTED - k.DEVICES_UP);
  if (k.FS_MOUNTED !== undefined && k.APP_LOADED !== undefined) note('app load + link', k.APP_LOADED - k.FS_MOUNTED);
  if (k.APP_MAIN !== undefined && t.firstOutputMs !== undefined) note('main() to first output on the host', t.firstOutputMs - k.APP_MAIN);
  note('power-on to first output', t.firstOutputMs);
  inproc2.push((await bootToFirstOutput(bytes, 2)).ms);
}

const node0: number[] = [];
const nodeHello: number[] = [];
const osvRun: number[] = [];
const hvLoad: number[] = [];
const hv = join(root, 'packages/hv/dist/cli.js');
const hvIndex = join(root, 'packages/hv/dist/index.js');
for (let i = 0; i < ROUNDS; i++) {
  node0.push(timeProcess(process.execPath, ['-e', '0']));
  nodeHello.push(timeProcess(process.execPath, [join(here, 'bin/hello-host.mjs')]));
  osvRun.push(timeProcess(process.execPath, [hv, img]));
  hvLoad.push(timeProcess(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(hvIndex)})`]));
}

const row = (name: string, ms: number, base?: number): string =>
  `${name.padEnd(46)} ${ms.toFixed(2).padStart(9)} ms${base ? `   ${(ms / base).toFixed(2)}x baseline` : ''}`;
console.log(`boot benchmark, medians of ${ROUNDS} runs, image ${bytes.length} bytes`);
console.log('\nwhole processes (baseline: node -e 0)');
console.log(row('node -e 0', median(node0)));
console.log(row('node hello.js (hello on the host)', median(nodeHello), median(node0)));
console.log(row('osv-run hello.img', median(osvRun), median(node0)));
console.log(row('node: import @osv-ts/hv and exit (no boot)', median(hvLoad), median(node0)));
console.log(`  so osv-run = node start + loading the hv (${(median(hvLoad) - median(node0)).toFixed(1)} ms) + boot to exit (${(median(osvRun) - median(hvLoad)).toFixed(1)} ms)`);
console.log('\nin-process: Machine.boot() to the app\'s first output');
console.log(row('1 vCPU', median(inproc)));
console.log(row('2 vCPUs', median(inproc2)));
console.log('\nbreakdown (1 vCPU)');
for (const [k, v] of Object.entries(parts)) console.log(row(`  ${k}`, median(v)));
