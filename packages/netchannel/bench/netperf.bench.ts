/**
 * netperf, after OSv's comparison: TCP request/response (1 and 100 bytes) and
 * a bulk stream, between two netchannel stacks in one process joined by an
 * in-process link — with net channels on and off — against a Node client and
 * server over Linux loopback, measured in the same run. Each figure is the
 * median of RUNS runs of RUN_MS; ratios are against the Node baseline.
 *
 *   node ../../scripts/run-bench.mjs netperf
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { createLinkPair, NetStack, POLLIN, type TcpSocket } from '../src/index.js';
import { HostClock, hostEntropy } from '../src/host/index.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const RUN_MS = Number(process.env['BENCH_MS'] ?? 1500);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// ---------- Node over Linux loopback ----------

async function nodePair(): Promise<{ client: net.Socket; server: net.Socket; close: () => void }> {
  return new Promise((resolve) => {
    const srv = net.createServer({ noDelay: true }, (server) => {
      resolve({ client, server, close: () => { client.destroy(); server.destroy(); srv.close(); } });
    });
    let client: net.Socket;
    srv.listen(0, '127.0.0.1', () => {
      client = net.connect({ port: (srv.address() as net.AddressInfo).port, host: '127.0.0.1', noDelay: true });
    });
  });
}

async function nodeRR(size: number): Promise<number> {
  const { client, server, close } = await nodePair();
  const req = Buffer.alloc(size, 1);
  let got = 0;
  server.on('data', (d: Buffer) => {
    got += d.length;
    while (got >= size) {
      got -= size;
      server.write(req);
    }
  });
  let n = 0;
  const end = performance.now() + RUN_MS;
  const t0 = performance.now();
  await new Promise<void>((done) => {
    let have = 0;
    client.on('data', (d: Buffer) => {
      have += d.length;
      while (have >= size) {
        have -= size;
        n++;
        if (performance.now() >= end) return done();
        client.write(req);
      }
    });
    client.write(req);
  });
  const rate = n / ((performance.now() - t0) / 1000);
  close();
  return rate;
}

async function nodeStream(): Promise<number> {
  const { client, server, close } = await nodePair();
  const chunk = Buffer.alloc(64 * 1024, 7);
  let bytes = 0;
  server.on('data', (d: Buffer) => (bytes += d.length));
  const t0 = performance.now();
  const end = t0 + RUN_MS;
  await new Promise<void>((done) => {
    const pump = (): void => {
      while (performance.now() < end) if (!client.write(chunk)) return void client.once('drain', pump);
      done();
    };
    pump();
  });
  const gbps = (bytes * 8) / ((performance.now() - t0) / 1000) / 1e9;
  close();
  return gbps;
}

// ---------- two netchannel stacks ----------

async function stackPair(channels: boolean): Promise<{ c: TcpSocket; s: TcpSocket }> {
  const clock = new HostClock();
  const [la, lb] = createLinkPair();
  const opts = { clock, timers: clock, netChannels: channels, memory: { byteLength: 64 << 20 } };
  const a = new NetStack({ ...opts, entropy: hostEntropy() });
  const b = new NetStack({ ...opts, entropy: hostEntropy() });
  a.addInterface(la, { address: '10.0.0.1' });
  b.addInterface(lb, { address: '10.0.0.2' });
  const l = b.tcpSocket();
  l.bind(0, 12865);
  l.listen(4);
  const c = a.tcpSocket();
  const acc = l.accept();
  await c.connect('10.0.0.2', 12865);
  const s = await acc;
  c.setOption('TCP_NODELAY', 1);
  s.setOption('TCP_NODELAY', 1);
  return { c, s };
}

/** Reads exactly buf.length bytes, waiting for readiness between non-blocking reads. */
async function readFull(sock: TcpSocket, buf: Uint8Array): Promise<void> {
  let have = 0;
  while (have < buf.length) {
    const n = sock.tryRead(buf, have, buf.length - have);
    if (n > 0) have += n;
    else if (n === 0) throw new Error('eof');
    else await sock.waitFor(POLLIN);
  }
}

async function stackRR(channels: boolean, size: number): Promise<number> {
  const { c, s } = await stackPair(channels);
  const req = new Uint8Array(size).fill(1);
  const sbuf = new Uint8Array(size);
  const cbuf = new Uint8Array(size);
  let running = true;
  void (async () => {
    while (running) {
      await readFull(s, sbuf);
      s.tryWrite(sbuf);
    }
  })().catch(() => {});
  let n = 0;
  const t0 = performance.now();
  const end = t0 + RUN_MS;
  while (performance.now() < end) {
    for (let i = 0; i < 64; i++) {
      c.tryWrite(req);
      await readFull(c, cbuf);
      n++;
    }
  }
  const rate = n / ((performance.now() - t0) / 1000);
  running = false;
  c.abort();
  s.abort();
  return rate;
}

async function stackStream(channels: boolean): Promise<number> {
  const { c, s } = await stackPair(channels);
  const chunk = new Uint8Array(64 * 1024).fill(7);
  const sink = new Uint8Array(256 * 1024);
  let bytes = 0;
  let running = true;
  void (async () => {
    while (running) {
      const n = await s.read(sink);
      if (n === 0) return;
      bytes += n;
    }
  })().catch(() => {});
  const t0 = performance.now();
  const end = t0 + RUN_MS;
  while (performance.now() < end) await c.write(chunk);
  const gbps = (bytes * 8) / ((performance.now() - t0) / 1000) / 1e9;
  running = false;
  c.abort();
  s.abort();
  return gbps;
}

// ---------- report ----------

async function measure(name: string, f: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) xs.push(await f());
  void name;
  return median(xs);
}

function row(test: string, who: string, value: number, unit: string, base: number): void {
  const v = unit === 'tx/s' ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
  const ratio = who.startsWith('node') ? 'baseline' : `${(value / base).toFixed(2)}x`;
  console.log(`${test.padEnd(12)} ${who.padEnd(24)} ${v.padStart(12)} ${unit.padEnd(7)} ${ratio}`);
}

async function main(): Promise<void> {
  console.log(`medians of ${RUNS} runs of ${RUN_MS} ms; ratio against Node over Linux loopback in this run`);
  for (const size of [1, 100]) {
    const base = await measure('node', () => nodeRR(size));
    row(`tcp_rr ${size}B`, 'node-loopback', base, 'tx/s', base);
    for (const ch of [true, false]) row(`tcp_rr ${size}B`, `netchannel channels=${ch ? 'on' : 'off'}`, await measure('nc', () => stackRR(ch, size)), 'tx/s', base);
  }
  const base = await measure('node', nodeStream);
  row('tcp_stream', 'node-loopback', base, 'Gbit/s', base);
  for (const ch of [true, false]) row('tcp_stream', `netchannel channels=${ch ? 'on' : 'off'}`, await measure('nc', () => stackStream(ch)), 'Gbit/s', base);
}

await main();
