/**
 * The user network's cost: a guest-side netchannel stack talking to Node
 * servers on the host through UserNetBackend (guest stack → translator →
 * gateway stack → relay → host socket → Linux loopback → server), against a
 * Node client talking to the same servers over Linux loopback directly, in
 * the same run. TCP request/response with 1- and 100-byte messages
 * (transactions/s) and bulk streams guest→host and host→guest (Gbit/s).
 * Each figure is the median of BENCH_RUNS runs of BENCH_MS.
 *
 *   cd packages/hv && node ../../scripts/run-bench.mjs userNet
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { guestStack } from '../src/net/guestHarness.js';
import { UserNetBackend } from '../src/net/userNetBackend.js';
import type { TcpSocket } from '../src/net/netchannel.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const RUN_MS = Number(process.env['BENCH_MS'] ?? 1500);
const EAGAIN = -11;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A host server on 127.0.0.1 running `onConnection` for each client. */
async function server(onConnection: (s: Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const open = new Set<Socket>();
  const srv: Server = createServer({ noDelay: true }, (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as AddressInfo).port,
    close: () => {
      for (const s of open) s.destroy();
      return new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

/** Echoes whole messages of `size` bytes (a request/response server, as netperf's TCP_RR). */
function echoMessages(size: number): (s: Socket) => void {
  return (s) => {
    let got = 0;
    const reply = Buffer.alloc(size, 2);
    s.on('data', (d: Buffer) => {
      got += d.length;
      while (got >= size) {
        got -= size;
        s.write(reply);
      }
    });
  };
}

// ---------- the baseline: a Node client over Linux loopback ----------

async function nodeRR(size: number): Promise<number> {
  const srv = await server(echoMessages(size));
  const c = connect({ port: srv.port, host: '127.0.0.1', noDelay: true });
  await new Promise((r) => c.once('connect', r));
  const req = Buffer.alloc(size, 1);
  let n = 0;
  const t0 = performance.now();
  await new Promise<void>((done) => {
    let have = 0;
    c.on('data', (d: Buffer) => {
      have += d.length;
      while (have >= size) {
        have -= size;
        n++;
        if (performance.now() - t0 >= RUN_MS) return done();
        c.write(req);
      }
    });
    c.write(req);
  });
  const rate = n / ((performance.now() - t0) / 1000);
  c.destroy();
  await srv.close();
  return rate;
}

async function nodeUpload(): Promise<number> {
  let bytes = 0;
  const srv = await server((s) => s.on('data', (d: Buffer) => (bytes += d.length)));
  const c = connect({ port: srv.port, host: '127.0.0.1' });
  await new Promise((r) => c.once('connect', r));
  const chunk = Buffer.alloc(64 * 1024, 7);
  const t0 = performance.now();
  await new Promise<void>((done) => {
    const pump = (): void => {
      while (performance.now() - t0 < RUN_MS) if (!c.write(chunk)) return void c.once('drain', pump);
      done();
    };
    pump();
  });
  const gbps = (bytes * 8) / ((performance.now() - t0) / 1000) / 1e9;
  c.destroy();
  await srv.close();
  return gbps;
}

async function nodeDownload(): Promise<number> {
  const srv = await server(blast);
  const c = connect({ port: srv.port, host: '127.0.0.1' });
  let bytes = 0;
  c.on('data', (d: Buffer) => (bytes += d.length));
  await new Promise((r) => c.once('connect', r));
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, RUN_MS));
  const gbps = (bytes * 8) / ((performance.now() - t0) / 1000) / 1e9;
  c.destroy();
  await srv.close();
  return gbps;
}

/** Writes 64 KiB chunks to the client until it goes away. */
function blast(s: Socket): void {
  const chunk = Buffer.alloc(64 * 1024, 9);
  const pump = (): void => {
    while (!s.destroyed) if (!s.write(chunk)) return void s.once('drain', pump);
  };
  pump();
}

// ---------- a guest stack through the user backend ----------

async function guestConnect(port: number): Promise<{ s: TcpSocket; close: () => Promise<void> }> {
  const backend = await UserNetBackend.open();
  const g = guestStack(backend, { address: '10.0.2.15', gateway: '10.0.2.2' });
  const s = g.stack.tcpSocket();
  await s.connect('10.0.2.2', port);
  s.setOption('TCP_NODELAY', 1);
  return { s, close: () => (s.abort(), backend.close()) };
}

async function guestRR(size: number): Promise<number> {
  const srv = await server(echoMessages(size));
  const { s, close } = await guestConnect(srv.port);
  const req = new Uint8Array(size).fill(1);
  const buf = new Uint8Array(size);
  let n = 0;
  const t0 = performance.now();
  await new Promise<void>((done) => {
    let have = 0;
    let finished = false;
    s.watch(() => {
      if (finished) return;
      for (let r = s.tryRead(buf, have, size - have); r > 0; r = s.tryRead(buf, have, size - have)) {
        have += r;
        if (have < size) continue;
        have = 0;
        n++;
        if (performance.now() - t0 >= RUN_MS) {
          finished = true;
          return done();
        }
        s.tryWrite(req);
      }
    });
    s.tryWrite(req);
  });
  const rate = n / ((performance.now() - t0) / 1000);
  await close();
  await srv.close();
  return rate;
}

async function guestUpload(): Promise<number> {
  let bytes = 0;
  const srv = await server((c) => c.on('data', (d: Buffer) => (bytes += d.length)));
  const { s, close } = await guestConnect(srv.port);
  const chunk = new Uint8Array(64 * 1024).fill(7);
  const t0 = performance.now();
  await new Promise<void>((done) => {
    const pump = (): void => {
      while (performance.now() - t0 < RUN_MS) if (s.tryWrite(chunk) === EAGAIN) return;
      s.unwatch(pump);
      done();
    };
    s.watch(pump);
    pump();
  });
  const gbps = (bytes * 8) / ((performance.now() - t0) / 1000) / 1e9;
  await close();
  await srv.close();
  return gbps;
}

async function guestDownload(): Promise<number> {
  const srv = await server(blast);
  const { s, close } = await guestConnect(srv.port);
  const buf = new Uint8Array(256 * 1024);
  let bytes = 0;
  s.watch(() => {
    for (let n = s.tryRead(buf); n > 0; n = s.tryRead(buf)) bytes += n;
  });
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, RUN_MS));
  const gbps = (bytes * 8) / ((performance.now() - t0) / 1000) / 1e9;
  await close();
  await srv.close();
  return gbps;
}

// ---------- report ----------

async function measure(f: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) xs.push(await f());
  return median(xs);
}

function row(test: string, who: string, value: number, unit: string, base: number): void {
  const v = unit === 'tx/s' ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
  const ratio = value === base ? 'baseline' : `${(value / base).toFixed(2)}x`;
  console.log(`${test.padEnd(20)} ${who.padEnd(22)} ${v.padStart(10)} ${unit.padEnd(7)} ${ratio}`);
}

async function main(): Promise<void> {
  console.log(`medians of ${RUNS} runs of ${RUN_MS} ms; ratio against a Node client over Linux loopback in this run`);
  for (const size of [1, 100]) {
    const base = await measure(() => nodeRR(size));
    row(`tcp_rr ${size}B`, 'node-loopback', base, 'tx/s', base);
    row(`tcp_rr ${size}B`, 'guest via user net', await measure(() => guestRR(size)), 'tx/s', base);
  }
  const up = await measure(nodeUpload);
  row('tcp_stream guest→host', 'node-loopback', up, 'Gbit/s', up);
  row('tcp_stream guest→host', 'guest via user net', await measure(guestUpload), 'Gbit/s', up);
  const down = await measure(nodeDownload);
  row('tcp_stream host→guest', 'node-loopback', down, 'Gbit/s', down);
  row('tcp_stream host→guest', 'guest via user net', await measure(guestDownload), 'Gbit/s', down);
}

await main();
