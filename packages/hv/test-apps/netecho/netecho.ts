/**
 * TCP on the kernel's socket API, as a server or a client:
 *
 *   /netecho.js --serve PORT [--connections N] [--ip A.B.C.D/NN]
 *       echoes every byte back on each of N connections (default 1), then exits 0
 *   /netecho.js --fetch HOST:PORT --send TEXT [--ip A.B.C.D/NN]
 *       connects, sends TEXT, half-closes, prints what came back, exits 0
 *
 *   /netecho.js --perf-loopback N [--size B] [--no-channels]
 *       netperf TCP_RR inside the guest: a server thread and a client thread
 *       over 127.0.0.1 exchange N requests of B bytes (default 1); prints
 *       {"rr":N,"perSecond":...}
 *
 * netperf TCP_STREAM, in B-byte writes (--write, a multiple of 256, default
 * 64 KiB); stream byte i is i & 0xff, which --verify checks at the receiver:
 *
 *   /netecho.js --stream-loopback BYTES [--write B] [--no-channels] [--verify]
 *       a sender thread and a receiver thread over 127.0.0.1; prints
 *       {"stream":BYTES,"received":N,"gbps":...}
 *   /netecho.js --sink PORT [--bytes N] [--verify] [--ip A.B.C.D/NN]
 *       reads one connection to its end, answers with the byte count in
 *       decimal and closes; prints {"listening":..}, then {"sunk":N,"gbps":...}
 *   /netecho.js --source HOST:PORT --bytes N [--write B] [--ip A.B.C.D/NN]
 *       sends N bytes, half-closes and reads the peer's count (as --sink
 *       answers); prints {"sent":N,"acked":N,"gbps":...}
 *
 * The stream modes exit 1 when a count (or, with --verify, a byte) is wrong.
 *
 * Without --ip the address comes from DHCP. Prints JSON lines: {"listening":..}
 * or {"fetched":..}, and {"served":..} with byte counts.
 */
import { net, scheduler, uptimeNs } from '@osv-ts/kernel';

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function configure(argv: string[]): Promise<string> {
  const n = net();
  const ip = arg(argv, '--ip');
  const first = n.interfaces[0];
  if (!first) throw new Error('netecho: no network device (boot with --net)');
  if (ip) {
    const [address, prefix] = ip.split('/');
    first.dhcp.stop();
    first.iface.configure({ address: address!, prefixLength: Number(prefix ?? 24) });
    return address!;
  }
  const got = await n.configured(10_000);
  if (got.length === 0) throw new Error('netecho: DHCP gave no address within 10 s');
  return formatIp(got[0]!.iface.address);
}

interface Reader {
  read(b: Uint8Array, off?: number, len?: number): Promise<number>;
}

interface Writer {
  write(b: Uint8Array, off?: number, len?: number): Promise<number>;
}

/** Writes all of `data` (a socket write may take part of it). */
async function writeAll(s: Writer, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length; ) off += await s.write(data, off, data.length - off);
}

/**
 * close() lingers up to this long for the peer to acknowledge the last data:
 * main returning powers the machine off, and a send buffer not yet drained
 * would be lost with it.
 */
const LINGER_S = 10;

const formatIp = (a: number): string => [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');

async function serve(port: number, connections: number): Promise<number> {
  const listener = net().stack.tcpSocket();
  listener.setOption('SO_REUSEADDR', 1);
  listener.bind(0, port);
  listener.listen(16);
  console.log(JSON.stringify({ listening: port }));
  let bytes = 0;
  const buf = new Uint8Array(16384);
  for (let i = 0; i < connections; i++) {
    const c = await listener.accept();
    for (;;) {
      const n = await c.read(buf);
      if (n <= 0) break;
      bytes += n;
      await writeAll(c, buf.subarray(0, n));
    }
    c.setOption('SO_LINGER', LINGER_S);
    await c.close();
  }
  listener.close();
  // Diagnostics: why this stack answered segments with RST, if it did (a SYN before listen(), an unacceptable ACK).
  const st = net().stack.stats;
  if (st.tcpOutRsts > 0) console.log(JSON.stringify({ rsts: st.tcpOutRsts, noListener: st.tcpRstNoListener, badAck: st.tcpRstBadAck }));
  console.log(JSON.stringify({ served: connections, bytes }));
  return 0;
}

async function fetch(target: string, text: string): Promise<number> {
  const [host, port] = target.split(':');
  const s = net().stack.tcpSocket();
  await s.connect(host!, Number(port));
  await writeAll(s, ascii(text));
  s.shutdown(1);
  const got = await readText(s);
  s.setOption('SO_LINGER', LINGER_S);
  await s.close();
  console.log(JSON.stringify({ fetched: got }));
  return 0;
}

/** Reads to the end of the stream as 7-bit text. */
async function readText(s: Reader): Promise<string> {
  let got = '';
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await s.read(buf);
    if (n <= 0) return got;
    for (let i = 0; i < n; i++) got += String.fromCharCode(buf[i]!);
  }
}

function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0x7f;
  return out;
}

/** Reads exactly buf.length bytes (false at end of stream). */
async function readFull(s: Reader, buf: Uint8Array): Promise<boolean> {
  for (let off = 0; off < buf.length; ) {
    const n = await s.read(buf, off, buf.length - off);
    if (n <= 0) return false;
    off += n;
  }
  return true;
}

async function perfLoopback(rounds: number, size: number, channels: boolean): Promise<number> {
  const stack = net().stack;
  stack.netChannels = channels;
  const listener = stack.tcpSocket();
  listener.bind('127.0.0.1', 7001);
  listener.listen(4);
  const server = scheduler().spawn(
    async () => {
      const c = await listener.accept();
      c.setOption('TCP_NODELAY', 1);
      const buf = new Uint8Array(size);
      while (await readFull(c, buf)) await writeAll(c, buf);
      await c.close();
    },
    { name: 'rr-server' },
  );
  const s = stack.tcpSocket();
  await s.connect('127.0.0.1', 7001);
  s.setOption('TCP_NODELAY', 1);
  const req = new Uint8Array(size);
  const t0 = uptimeNs();
  for (let i = 0; i < rounds; i++) {
    await writeAll(s, req);
    if (!(await readFull(s, req))) throw new Error('netecho: server closed early');
  }
  const seconds = (uptimeNs() - t0) / 1e9;
  s.shutdown(1);
  await s.close();
  await server.join();
  listener.close();
  console.log(JSON.stringify({ rr: rounds, size, channels, perSecond: Math.round(rounds / seconds) }));
  return 0;
}

// ---------- TCP_STREAM ----------

/** A write buffer of `size` bytes (a multiple of 256) holding the stream pattern: byte i is i & 0xff. */
function patterned(size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = i & 0xff;
  return b;
}

/** Sends `bytes` bytes of the stream pattern in `writeSize`-byte writes. */
async function sendStream(s: Writer, bytes: number, writeSize: number): Promise<void> {
  const chunk = patterned(writeSize);
  for (let sent = 0; sent < bytes; ) {
    const n = Math.min(writeSize, bytes - sent);
    await writeAll(s, chunk.subarray(0, n));
    sent += n;
  }
}

/** What a receiver counted: every byte up to the end of the stream, and (verifying) the first offset off the pattern, -1 if none. */
interface Received {
  readonly bytes: number;
  readonly firstBad: number;
}

/** Reads `s` to the end of the stream, counting every byte; `verify` checks each against the pattern (costs a pass over the data). */
async function receiveStream(s: Reader, verify: boolean): Promise<Received> {
  const buf = new Uint8Array(64 * 1024);
  let bytes = 0;
  let firstBad = -1;
  for (;;) {
    const n = await s.read(buf);
    if (n <= 0) return { bytes, firstBad };
    if (verify && firstBad < 0) {
      for (let i = 0; i < n; i++) {
        if (buf[i] !== ((bytes + i) & 0xff)) {
          firstBad = bytes + i;
          break;
        }
      }
    }
    bytes += n;
  }
}

/** Gbit/s (10^9 bits) for `bytes` moved in `ns` nanoseconds, to three decimals. */
const gbps = (bytes: number, ns: number): number => Math.round(((bytes * 8) / ns) * 1000) / 1000;

async function streamLoopback(bytes: number, writeSize: number, channels: boolean, verify: boolean): Promise<number> {
  const stack = net().stack;
  stack.netChannels = channels;
  const listener = stack.tcpSocket();
  listener.bind('127.0.0.1', 7002);
  listener.listen(4);
  let got: Received = { bytes: 0, firstBad: -1 };
  let tEnd = 0;
  const receiver = scheduler().spawn(
    async () => {
      const c = await listener.accept();
      got = await receiveStream(c, verify);
      tEnd = uptimeNs();
      await c.close();
    },
    { name: 'stream-receiver' },
  );
  const s = stack.tcpSocket();
  await s.connect('127.0.0.1', 7002);
  const t0 = uptimeNs();
  await sendStream(s, bytes, writeSize);
  s.setOption('SO_LINGER', LINGER_S);
  await s.close();
  await receiver.join();
  listener.close();
  console.log(JSON.stringify({ stream: bytes, write: writeSize, channels, received: got.bytes, firstBad: got.firstBad, gbps: gbps(got.bytes, tEnd - t0) }));
  return got.bytes === bytes && got.firstBad < 0 ? 0 : 1;
}

async function sink(port: number, expected: number | undefined, verify: boolean): Promise<number> {
  const listener = net().stack.tcpSocket();
  listener.setOption('SO_REUSEADDR', 1);
  listener.bind(0, port);
  listener.listen(4);
  console.log(JSON.stringify({ listening: port }));
  const c = await listener.accept();
  const t0 = uptimeNs();
  const got = await receiveStream(c, verify);
  const ns = uptimeNs() - t0;
  await writeAll(c, ascii(`${got.bytes}\n`));
  c.setOption('SO_LINGER', LINGER_S);
  await c.close();
  listener.close();
  console.log(JSON.stringify({ sunk: got.bytes, firstBad: got.firstBad, gbps: gbps(got.bytes, ns) }));
  return (expected === undefined || got.bytes === expected) && got.firstBad < 0 ? 0 : 1;
}

async function source(target: string, bytes: number, writeSize: number): Promise<number> {
  const [host, port] = target.split(':');
  const s = net().stack.tcpSocket();
  await s.connect(host!, Number(port));
  const t0 = uptimeNs();
  await sendStream(s, bytes, writeSize);
  s.shutdown(1);
  const reply = await readText(s);
  const ns = uptimeNs() - t0;
  s.setOption('SO_LINGER', LINGER_S);
  await s.close();
  const acked = /^\d+\n$/.test(reply) ? Number(reply) : -1;
  console.log(JSON.stringify({ sent: bytes, acked, gbps: gbps(bytes, ns) }));
  return acked === bytes ? 0 : 1;
}

/** A positive whole number of bytes from option `name`, else `fallback`; throws on anything else. */
function byteCount(argv: string[], name: string, fallback?: number): number {
  const text = arg(argv, name);
  const n = text === undefined ? fallback : Number(text);
  if (n === undefined || !Number.isSafeInteger(n) || n <= 0) throw new Error(`netecho: ${name} needs a positive whole number of bytes (got ${text})`);
  return n;
}

/** --write: a positive multiple of 256, so every write continues the stream pattern. */
function writeSize(argv: string[]): number {
  const n = byteCount(argv, '--write', 64 * 1024);
  if (n % 256 !== 0) throw new Error(`netecho: --write must be a multiple of 256 (got ${n})`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const perf = arg(argv, '--perf-loopback');
  if (perf !== undefined) return perfLoopback(Number(perf), Number(arg(argv, '--size') ?? 1), !argv.includes('--no-channels'));
  const verify = argv.includes('--verify');
  if (arg(argv, '--stream-loopback') !== undefined) return streamLoopback(byteCount(argv, '--stream-loopback'), writeSize(argv), !argv.includes('--no-channels'), verify);
  const address = await configure(argv);
  console.log(JSON.stringify({ address }));
  const port = arg(argv, '--serve');
  if (port !== undefined) return serve(Number(port), Number(arg(argv, '--connections') ?? 1));
  const target = arg(argv, '--fetch');
  if (target !== undefined) return fetch(target, arg(argv, '--send') ?? 'hello');
  const sinkPort = arg(argv, '--sink');
  if (sinkPort !== undefined) return sink(Number(sinkPort), arg(argv, '--bytes') === undefined ? undefined : byteCount(argv, '--bytes'), verify);
  const to = arg(argv, '--source');
  if (to !== undefined) return source(to, byteCount(argv, '--bytes'), writeSize(argv));
  console.error('netecho: give --serve PORT, --fetch HOST:PORT, --sink PORT, --source HOST:PORT, --perf-loopback N or --stream-loopback BYTES');
  return 2;
}
