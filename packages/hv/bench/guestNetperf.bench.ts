/**
 * netperf TCP_RR in booted images (issue 6's netperf comparison), each with
 * its baseline measured in the same run:
 *  - inside the guest: a client and a server thread over the guest's own
 *    loopback (netchannel), net channels on and off, 1- and 100-byte
 *    requests — against a Node client and server over Linux loopback;
 *  - guest <-> host: a host client against the guest's echo server through
 *    the user backend's hostfwd — against the same client and a Node echo
 *    server on the host.
 *
 *   cd packages/hv && node ../../scripts/run-bench.mjs guestNetperf
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { testAppImage } from '../src/testing/testImages.js';
import { guest, median, table } from './benchSupport.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 20_000);
const img = testAppImage('netecho');

/** `rounds` request/response exchanges of `size` bytes on `sock`; resolves with exchanges per second. */
function rr(sock: net.Socket, rounds: number, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = Buffer.alloc(size, 7);
    let got = 0;
    let done = 0;
    const t0 = process.hrtime.bigint();
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      got += d.length;
      while (got >= size) {
        got -= size;
        if (++done === rounds) {
          resolve(rounds / (Number(process.hrtime.bigint() - t0) / 1e9));
          sock.end();
          return;
        }
        sock.write(req);
      }
    });
    sock.on('error', reject);
    sock.write(req);
  });
}

/** A Node echo server on 127.0.0.1; resolves with its port and a closer. */
function nodeEchoServer(): Promise<{ port: number; close: () => void }> {
  return new Promise((resolve) => {
    const s = net.createServer((c) => {
      c.setNoDelay(true);
      c.on('data', (d) => c.write(d));
      c.on('error', () => {});
    });
    s.listen(0, '127.0.0.1', () => resolve({ port: (s.address() as net.AddressInfo).port, close: () => s.close() }));
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

async function nodeLoopback(size: number): Promise<number> {
  const srv = await nodeEchoServer();
  const perSecond = await rr(await connect(srv.port), ROUNDS, size);
  srv.close();
  return perSecond;
}

async function freePort(): Promise<number> {
  const srv = await nodeEchoServer();
  srv.close();
  return srv.port;
}

/** Host client -> hostfwd -> the guest's echo server. */
async function guestFromHost(size: number): Promise<number> {
  const port = await freePort();
  const vm = spawn(process.execPath, [new URL('../dist/cli.js', import.meta.url).pathname, img, '--net', `user,hostfwd=tcp::${port}-:7`, '--cmdline', '/netecho.js --serve 7'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => vm.stdout.on('data', (d: Buffer) => d.toString().includes('listening') && resolve()));
  const perSecond = await rr(await connect(port), ROUNDS, size);
  await new Promise((r) => vm.on('close', r));
  return perSecond;
}

const rows: [string, number, string, number?][] = [];
for (const size of [1, 100]) {
  const base: number[] = [];
  const on: number[] = [];
  const off: number[] = [];
  const host: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    base.push(await nodeLoopback(size));
    on.push((await guest(img, `/netecho.js --perf-loopback ${ROUNDS} --size ${size}`, { nets: ['none'] }))['perSecond']!);
    off.push((await guest(img, `/netecho.js --perf-loopback ${ROUNDS} --size ${size} --no-channels`, { nets: ['none'] }))['perSecond']!);
    host.push(await guestFromHost(size));
  }
  const b = median(base);
  rows.push([`TCP_RR ${size} B: Node client+server, Linux loopback (baseline)`, b, 'tx/s']);
  rows.push([`TCP_RR ${size} B: in the guest, loopback, net channels on`, median(on), 'tx/s', median(on) / b]);
  rows.push([`TCP_RR ${size} B: in the guest, loopback, net channels off`, median(off), 'tx/s', median(off) / b]);
  rows.push([`TCP_RR ${size} B: host client -> user backend -> guest`, median(host), 'tx/s', median(host) / b]);
}
console.log(`netperf TCP_RR in booted images, medians of ${RUNS} runs of ${ROUNDS} exchanges`);
table(rows);
