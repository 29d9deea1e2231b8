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

/** Writes all of `data` (a socket write may take part of it). */
async function writeAll(s: { write(b: Uint8Array, off?: number, len?: number): Promise<number> }, data: Uint8Array): Promise<void> {
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
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0x7f;
  await writeAll(s, out);
  s.shutdown(1);
  let got = '';
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await s.read(buf);
    if (n <= 0) break;
    for (let i = 0; i < n; i++) got += String.fromCharCode(buf[i]!);
  }
  s.setOption('SO_LINGER', LINGER_S);
  await s.close();
  console.log(JSON.stringify({ fetched: got }));
  return 0;
}

/** Reads exactly buf.length bytes (false at end of stream). */
async function readFull(s: { read(b: Uint8Array, off?: number, len?: number): Promise<number> }, buf: Uint8Array): Promise<boolean> {
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

export async function main(argv: string[]): Promise<number> {
  const perf = arg(argv, '--perf-loopback');
  if (perf !== undefined) return perfLoopback(Number(perf), Number(arg(argv, '--size') ?? 1), !argv.includes('--no-channels'));
  const address = await configure(argv);
  console.log(JSON.stringify({ address }));
  const port = arg(argv, '--serve');
  if (port !== undefined) return serve(Number(port), Number(arg(argv, '--connections') ?? 1));
  const target = arg(argv, '--fetch');
  if (target !== undefined) return fetch(target, arg(argv, '--send') ?? 'hello');
  console.error('netecho: give --serve PORT or --fetch HOST:PORT');
  return 2;
}
