/**
 * virtio-blk throughput from inside a VM against Node on the host, on the
 * same 64 MiB file in the same run:
 *
 *   sequential write  64 MiB in 128 KiB requests, 32 outstanding, then flush
 *   sequential read   the same, reading
 *   random read       20,000 reads of 4 KiB at random 4 KiB-aligned offsets, 32 outstanding
 *
 * The guest is test-apps/blockcheck (`bench seqwrite|seqread|randread`),
 * timing itself with the kernel's clock (boot excluded); the baseline is
 * this Node process doing the same operations with fs.read / fs.write on a
 * file descriptor, 32 outstanding, buffers allocated once (writes end with
 * fdatasync, as the guest's flush does). Three device-side variants of the
 * guest: the default (requests up to 64 KiB served with synchronous
 * pread/pwrite on the hv thread, larger on the thread pool), always the
 * thread pool, always synchronous. Medians of RUNS runs; ratio = guest /
 * Node.
 *
 *   cd packages/hv && node ../../scripts/run-bench.mjs blk
 */
import { closeSync, fdatasync, openSync, read, truncateSync, write, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SYNC_BELOW } from '../src/devices/fileBlockBackend.js';
import { testAppImage } from '../src/testing/testImages.js';
import { guest, median, table } from './benchSupport.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const SIZE = 64 * 1024 * 1024;
const CHUNK = 128 * 1024;
const INFLIGHT = 32;
const RANDOM_OPS = 20_000;
const path = join(tmpdir(), 'osv-bench-blk.img');
writeFileSync(path, '');
truncateSync(path, SIZE);

type Op = 'seqwrite' | 'seqread' | 'randread';

/** The same operation from this process; returns MB/s or IOPS. */
async function node(op: Op): Promise<number> {
  const fd = openSync(path, 'r+');
  const io = (f: typeof read | typeof write, buf: Buffer, len: number, pos: number): Promise<void> =>
    new Promise((res, rej) => (f as typeof read)(fd, buf, 0, len, pos, (e) => (e ? rej(e) : res())));
  let next = 0;
  let seed = 12345;
  const blocks = SIZE / 4096;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    const buf = Buffer.alloc(op === 'randread' ? 4096 : CHUNK);
    if (op === 'randread') {
      while (next++ < RANDOM_OPS) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        await io(read, buf, 4096, (seed % blocks) * 4096);
      }
      return;
    }
    while (next < SIZE) {
      const at = next;
      next += CHUNK;
      await io(op === 'seqwrite' ? write : read, buf, Math.min(CHUNK, SIZE - at), at);
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  if (op === 'seqwrite') await new Promise((res) => fdatasync(fd, res));
  const secs = (performance.now() - t0) / 1000;
  closeSync(fd);
  return op === 'randread' ? RANDOM_OPS / secs : SIZE / 1e6 / secs;
}

const img = testAppImage('blockcheck');
const variants = [
  { name: `guest, default (sync up to ${DEFAULT_SYNC_BELOW / 1024} KiB)`, syncBelow: DEFAULT_SYNC_BELOW },
  { name: 'guest, host I/O always on the thread pool', syncBelow: 0 },
  { name: 'guest, host I/O always synchronous', syncBelow: Number.MAX_SAFE_INTEGER },
];

async function inGuest(op: Op, syncBelow: number): Promise<number> {
  const r = await guest(img, `/blockcheck.js bench ${op} --inflight ${INFLIGHT} --chunk ${CHUNK} --count ${RANDOM_OPS}`, { disks: [{ path, syncBelow }] });
  return op === 'randread' ? r['iops']! : r['mbps']!;
}

await node('seqwrite'); // warm-up: the file is in the page cache for everyone after this
await inGuest('seqread', DEFAULT_SYNC_BELOW);
for (const op of ['seqwrite', 'seqread', 'randread'] as const) {
  const base: number[] = [];
  const runs = variants.map(() => [] as number[]);
  for (let r = 0; r < RUNS; r++) {
    base.push(await node(op));
    for (const [i, v] of variants.entries()) runs[i]!.push(await inGuest(op, v.syncBelow));
  }
  const unit = op === 'randread' ? 'IOPS (4 KiB)' : 'MB/s';
  const b = median(base);
  console.log(`\n${op} (median of ${RUNS})`);
  table([['baseline: Node fs on the same file', b, unit], ...variants.map((v, i) => [v.name, median(runs[i]!), unit, median(runs[i]!) / b] as const)]);
}
