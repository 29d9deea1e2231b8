/**
 * What virtio-net's transmit offloads buy a guest→host bulk TCP stream:
 * test-apps/netblast in an image (osv-run child process, user backend)
 * sends BENCH_BYTES to a Node sink on the host, with the device's offloads
 * off (the stack computes checksums and sends MSS-sized segments), csum
 * (checksums left to the device) and on (checksums and TCP segmentation:
 * the stack sends 64 KiB super-segments the device cuts up), against Node→Node over Linux loopback in the
 * same run as the baseline. The guest receives (ACKs) into mbufs in guest
 * memory either way. Throughput is measured at the sink, from the first
 * byte to the end of the stream; each figure is the median of BENCH_RUNS.
 *
 *   cd packages/hv && node ../../scripts/run-bench.mjs netOffload
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { testAppImage } from '../src/testing/testImages.js';
import { median, spawnGuest, table } from './benchSupport.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const BYTES = Number(process.env['BENCH_BYTES'] ?? 32 * 2 ** 20);

/** A sink on 127.0.0.1 for one stream: resolves with Gbit/s from its first byte to its end (and answers with the count). */
async function sink(): Promise<{ port: number; gbps: Promise<number> }> {
  let done!: (gbps: number) => void;
  const gbps = new Promise<number>((r) => (done = r));
  const srv = createServer((c: Socket) => {
    let n = 0;
    let start = 0;
    c.on('data', (d: Buffer) => {
      if (n === 0) start = performance.now();
      n += d.length;
    });
    c.on('end', () => {
      const s = (performance.now() - start) / 1000;
      c.end(`got ${n}`);
      srv.close();
      done((n * 8) / s / 1e9);
    });
    c.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as AddressInfo).port, gbps };
}

async function nodeStream(): Promise<number> {
  const s = await sink();
  const c = connect(s.port, '127.0.0.1');
  const chunk = Buffer.alloc(65536, 7);
  await new Promise<void>((resolve) => c.on('connect', resolve));
  for (let sent = 0; sent < BYTES; sent += chunk.length) {
    if (!c.write(chunk)) await new Promise<void>((r) => c.once('drain', r));
  }
  c.end();
  c.resume();
  return s.gbps;
}

async function guestStream(image: string, offloads: 'on' | 'csum' | 'off'): Promise<number> {
  const s = await sink();
  const g = spawnGuest(image, ['--net', `user,offloads=${offloads}`, '--cmdline', `/netblast.js --source 10.0.2.2:${s.port} --bytes ${BYTES}`]);
  const [gbps, result] = await Promise.all([s.gbps, g.result]);
  if (result['csumOffload'] !== (offloads === 'off' ? 0 : 1)) throw new Error(`offloads=${offloads}: the guest reports csumOffload ${result['csumOffload']}`);
  if (result['tsoOffload'] !== (offloads === 'on' ? 1 : 0)) throw new Error(`offloads=${offloads}: the guest reports tsoOffload ${result['tsoOffload']}`);
  return gbps;
}

const image = testAppImage('netblast');
const node: number[] = [];
const on: number[] = [];
const off: number[] = [];
const csum: number[] = [];
for (let i = 0; i < RUNS; i++) {
  node.push(await nodeStream());
  off.push(await guestStream(image, 'off'));
  csum.push(await guestStream(image, 'csum'));
  on.push(await guestStream(image, 'on'));
}
const base = median(node);
console.log(`guest→host TCP stream of ${BYTES / 2 ** 20} MiB, median of ${RUNS} runs (ratio to Node→Node loopback)`);
table([
  ['Node → Node, Linux loopback (baseline)', base, 'Gbit/s', 1],
  ['guest → host, user backend, offloads=off', median(off), 'Gbit/s', median(off) / base],
  ['guest → host, user backend, offloads=csum (CSUM)', median(csum), 'Gbit/s', median(csum) / base],
  ['guest → host, user backend, offloads=on (CSUM + HOST_TSO4)', median(on), 'Gbit/s', median(on) / base],
]);
console.log(`csum / off: ${(median(csum) / median(off)).toFixed(3)}; on (TSO) / csum: ${(median(on) / median(csum)).toFixed(3)}; on / off: ${(median(on) / median(off)).toFixed(3)}`);
