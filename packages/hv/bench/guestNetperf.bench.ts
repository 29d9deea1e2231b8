/**
 * netperf in booted images (issue 6's netperf comparison), each figure with
 * its baseline measured in the same run:
 *  - TCP_RR, 1- and 100-byte requests: inside the guest, a client and a
 *    server thread over the guest's own loopback (netchannel), net channels
 *    on and off, against a Node client and server over Linux loopback; and a
 *    host client against the guest's echo server through the user backend's
 *    hostfwd, against the same Node baseline;
 *  - TCP_STREAM, BENCH_STREAM_MIB (default 256) MiB in 64 KiB writes: inside
 *    the guest, a sender and a receiver thread over its loopback, net
 *    channels on and off, against a Node sender and receiver over Linux
 *    loopback (one process, as the guest's two threads share one vCPU); a
 *    host sender to the guest's sink through hostfwd, and the guest sending
 *    out through the user backend's NAT (10.0.2.2, the gateway, is the
 *    host's 127.0.0.1) to a host sink — each against a Node peer in a second
 *    process on the host (as osv-run is one), the same host side measuring.
 *
 * Every stream receiver counts every byte and answers with its count; a
 * count that differs from what was sent fails the benchmark.
 *
 *   cd packages/hv && node ../../scripts/run-bench.mjs guestNetperf
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { testAppImage } from '../src/testing/testImages.js';
import { guest, median, spawnGuest, table } from './benchSupport.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 20_000);
const STREAM_BYTES = Number(process.env['BENCH_STREAM_MIB'] ?? 256) * 1024 * 1024;
/** netperf's TCP_STREAM send size here (a multiple of 256: netecho's stream pattern). */
const WRITE = 64 * 1024;
const img = testAppImage('netecho');

// ---------- TCP_RR ----------

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
  const vm = spawnGuest(img, ['--net', `user,hostfwd=tcp::${port}-:7`, '--cmdline', '/netecho.js --serve 7']);
  await vm.printed('listening');
  const perSecond = await rr(await connect(port), ROUNDS, size);
  await vm.result;
  return perSecond;
}

// ---------- TCP_STREAM ----------

/** A write of WRITE bytes of netecho's stream pattern (byte i is i & 0xff), so a verifying guest receiver would accept it. */
const chunk = Buffer.alloc(WRITE);
for (let i = 0; i < WRITE; i++) chunk[i] = i & 0xff;

/** Gbit/s (10^9 bits) for `bytes` moved since `t0` (process.hrtime.bigint()). */
const gbps = (bytes: number, t0: bigint): number => (bytes * 8) / Number(process.hrtime.bigint() - t0);

/**
 * Sends `bytes` bytes to 127.0.0.1:port in WRITE-byte writes, half-closes and
 * reads the receiver's count; resolves with Gbit/s from connecting to the
 * count, rejects when the count is not `bytes`.
 */
function sendTo(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const s = net.connect(port, '127.0.0.1');
    let sent = 0;
    let reply = '';
    const pump = (): void => {
      while (sent < bytes) {
        const n = Math.min(WRITE, bytes - sent);
        sent += n;
        if (!s.write(n === WRITE ? chunk : chunk.subarray(0, n))) return void s.once('drain', pump);
      }
      s.end();
    };
    s.on('connect', pump);
    s.on('data', (d: Buffer) => (reply += d.toString()));
    s.on('end', () => (reply === `${bytes}\n` ? resolve(gbps(bytes, t0)) : reject(new Error(`TCP_STREAM: sent ${bytes} bytes, the receiver counted ${JSON.stringify(reply)}`))));
    s.on('error', reject);
  });
}

/** A one-connection sink on 127.0.0.1: `done` resolves with Gbit/s from accepting to the end of the stream, and rejects unless it counted `bytes`. */
function sinkOnce(bytes: number): Promise<{ port: number; done: Promise<number> }> {
  return new Promise((ready) => {
    let finish: (gbit: number) => void = () => {};
    let fail: (e: Error) => void = () => {};
    const done = new Promise<number>((resolve, reject) => ((finish = resolve), (fail = reject)));
    const srv = net.createServer((c) => {
      srv.close();
      const t0 = process.hrtime.bigint();
      let n = 0;
      c.on('data', (d: Buffer) => (n += d.length));
      c.on('end', () => {
        const gbit = gbps(n, t0);
        c.end(`${n}\n`);
        if (n === bytes) finish(gbit);
        else fail(new Error(`TCP_STREAM: the sender sent ${bytes} bytes, the sink counted ${n}`));
      });
      c.on('error', fail);
    });
    srv.listen(0, '127.0.0.1', () => ready({ port: (srv.address() as net.AddressInfo).port, done }));
  });
}

/** Node sender and receiver in this process over Linux loopback (the receiver's clock, as the guest's). */
async function nodeStreamLoopback(bytes: number): Promise<number> {
  const sink = await sinkOnce(bytes);
  const [gbit] = await Promise.all([sink.done, sendTo(sink.port, bytes)]);
  return gbit;
}

/** A Node peer in a second process: the sink answers its count, the source checks the count it gets back (and exits 1 otherwise). */
const NODE_SINK = `const net = require('node:net');
const srv = net.createServer((c) => { srv.close(); let n = 0; c.on('data', (d) => (n += d.length)); c.on('end', () => c.end(n + '\\n')); });
srv.listen(0, '127.0.0.1', () => console.log('port ' + srv.address().port));`;
const NODE_SOURCE = `const net = require('node:net');
const [port, bytes, size] = process.argv.slice(1).map(Number);
const chunk = Buffer.alloc(size); for (let i = 0; i < size; i++) chunk[i] = i & 255;
let sent = 0, reply = '';
const s = net.connect(port, '127.0.0.1', function pump() {
  while (sent < bytes) { const n = Math.min(size, bytes - sent); sent += n; if (!s.write(chunk.subarray(0, n))) return void s.once('drain', pump); }
  s.end();
});
s.on('data', (d) => (reply += d));
s.on('end', () => process.exit(reply === bytes + '\\n' ? 0 : 1));`;

function nodePeer(script: string, args: readonly (string | number)[]): { port: Promise<number>; exit: Promise<void> } {
  const p = spawn(process.execPath, ['-e', script, ...args.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const port = new Promise<number>((resolve) => p.stdout.on('data', (c: Buffer) => /port (\d+)/.test((out += c.toString())) && resolve(Number(/port (\d+)/.exec(out)![1]))));
  const exit = new Promise<void>((resolve, reject) => p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`Node stream peer: exit ${code}`)))));
  return { port, exit };
}

/** This process sends to a Node sink in a second process. */
async function nodeToNode(bytes: number): Promise<number> {
  const peer = nodePeer(NODE_SINK, []);
  const gbit = await sendTo(await peer.port, bytes);
  await peer.exit;
  return gbit;
}

/** A Node source in a second process sends to this process's sink. */
async function nodeFromNode(bytes: number): Promise<number> {
  const sink = await sinkOnce(bytes);
  const peer = nodePeer(NODE_SOURCE, [sink.port, bytes, WRITE]);
  const [gbit] = await Promise.all([sink.done, peer.exit]);
  return gbit;
}

/** This process sends through hostfwd to the guest's sink (which checks the count too). */
async function hostToGuest(bytes: number): Promise<number> {
  const port = await freePort();
  const vm = spawnGuest(img, ['--net', `user,hostfwd=tcp::${port}-:9`, '--cmdline', `/netecho.js --sink 9 --bytes ${bytes}`]);
  await vm.printed('listening');
  const gbit = await sendTo(port, bytes);
  const r = await vm.result;
  if (r['sunk'] !== bytes) throw new Error(`TCP_STREAM host -> guest: the guest counted ${r['sunk']} of ${bytes} bytes`);
  return gbit;
}

/** The guest sends out through the user backend's NAT to this process's sink. */
async function guestToHost(bytes: number): Promise<number> {
  const sink = await sinkOnce(bytes);
  const vm = spawnGuest(img, ['--net', 'user', '--cmdline', `/netecho.js --source 10.0.2.2:${sink.port} --bytes ${bytes} --write ${WRITE}`]);
  const [gbit, r] = await Promise.all([sink.done, vm.result]);
  if (r['acked'] !== bytes) throw new Error(`TCP_STREAM guest -> host: the guest sent ${bytes} bytes and got back a count of ${r['acked']}`);
  return gbit;
}

/** The guest's sender and receiver threads over its loopback; the guest exits 1 on a short count, which guest() reports. */
async function guestLoopbackStream(bytes: number, channels: boolean): Promise<number> {
  const r = await guest(img, `/netecho.js --stream-loopback ${bytes} --write ${WRITE}${channels ? '' : ' --no-channels'}`, { nets: ['none'] });
  if (r['received'] !== bytes) throw new Error(`TCP_STREAM in the guest: received ${r['received']} of ${bytes} bytes`);
  return r['gbps']!;
}

// ---------- report ----------

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

const stream = { loopback: [] as number[], on: [] as number[], off: [] as number[], toNode: [] as number[], toGuest: [] as number[], fromNode: [] as number[], fromGuest: [] as number[] };
for (let i = 0; i < RUNS; i++) {
  stream.loopback.push(await nodeStreamLoopback(STREAM_BYTES));
  stream.on.push(await guestLoopbackStream(STREAM_BYTES, true));
  stream.off.push(await guestLoopbackStream(STREAM_BYTES, false));
  stream.toNode.push(await nodeToNode(STREAM_BYTES));
  stream.toGuest.push(await hostToGuest(STREAM_BYTES));
  stream.fromNode.push(await nodeFromNode(STREAM_BYTES));
  stream.fromGuest.push(await guestToHost(STREAM_BYTES));
}
const m = Object.fromEntries(Object.entries(stream).map(([k, xs]) => [k, median(xs)])) as Record<keyof typeof stream, number>;
rows.push(['TCP_STREAM: Node sender+receiver, Linux loopback (baseline)', m.loopback, 'Gbit/s']);
rows.push(['TCP_STREAM: in the guest, loopback, net channels on', m.on, 'Gbit/s', m.on / m.loopback]);
rows.push(['TCP_STREAM: in the guest, loopback, net channels off', m.off, 'Gbit/s', m.off / m.loopback]);
rows.push(['TCP_STREAM: host Node -> Node process (baseline)', m.toNode, 'Gbit/s']);
rows.push(['TCP_STREAM: host Node -> user backend hostfwd -> guest', m.toGuest, 'Gbit/s', m.toGuest / m.toNode]);
rows.push(['TCP_STREAM: Node process -> host Node (baseline)', m.fromNode, 'Gbit/s']);
rows.push(['TCP_STREAM: guest -> user backend NAT -> host Node', m.fromGuest, 'Gbit/s', m.fromGuest / m.fromNode]);

console.log(`netperf in booted images, medians of ${RUNS} runs: TCP_RR ${ROUNDS} exchanges, TCP_STREAM ${STREAM_BYTES / 1024 / 1024} MiB in ${WRITE / 1024} KiB writes; ratios against the baseline above each`);
table(rows);
