/**
 * Event-driven sockets inside a booted image, over the guest's loopback: one
 * server thread serves every connection without blocking on any of them —
 * a non-blocking listener and connections registered in an epoll-style
 * poller (`net().stack.poller()`), tryAccept/tryRead/tryWrite, SHUT_WR when a
 * client half-closes — and answers UDP datagrams on the same poller, while
 * client threads use the blocking calls.
 *
 *   /netpoll.js [--clients N] [--bytes B] [--datagrams D] [--watchdog S]
 *
 * Each of N clients sends B bytes (a pattern seeded by its index), half-closes
 * and checks that exactly its bytes came back; each sends D datagrams and
 * checks each echo. If it has not finished after S seconds (default 60) it
 * prints the stack's resources and counters as {"stuck":S,...} and exits 1. Prints {"clients":N,"echoed":bytes,"datagrams":n,
 * "wakeups":w,"ok":true} and exits 0, or prints what went wrong and exits 1.
 */
import { exit, net, scheduler } from '@osv-ts/kernel';
import { POLLHUP, POLLIN, POLLOUT, SHUT_WR, type PollEvent, type TcpSocket, type UdpSocket } from '@osv-ts/netchannel';

const EAGAIN = -11;
const TCP_PORT = 7100;
const UDP_PORT = 7101;

function arg(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}

/** Byte `i` of client `c`'s stream. */
const pattern = (c: number, i: number): number => (c * 131 + i * 7 + (i >>> 8)) & 255;

/** Per-connection state of the event loop: bytes read and not yet written back. */
interface Conn {
  readonly sock: TcpSocket;
  readonly buf: Uint8Array;
  start: number;
  end: number;
  /** The client half-closed: once `buf` is drained, half-close back. */
  eof: boolean;
}

type Entry = { readonly kind: 'listener' } | { readonly kind: 'udp' } | { readonly kind: 'conn'; readonly conn: Conn };

/**
 * Moves what it can without blocking: writes back what was read, reads more.
 * Returns the event to wait for next, or 0 when the connection is done
 * (end of stream seen, everything echoed, SHUT_WR sent). Adds echoed bytes to `count`.
 */
function pump(c: Conn, count: { bytes: number }): number {
  for (;;) {
    if (c.end > c.start) {
      const n = c.sock.tryWrite(c.buf, c.start, c.end - c.start);
      if (n === EAGAIN) return POLLOUT;
      if (n < 0) throw new Error(`netpoll: tryWrite gave errno ${-n}`);
      c.start += n;
      count.bytes += n;
      if (c.start === c.end) c.start = c.end = 0;
    } else if (c.eof) {
      c.sock.shutdown(SHUT_WR);
      return 0;
    } else {
      const n = c.sock.tryRead(c.buf, 0, c.buf.length);
      if (n === EAGAIN) return POLLIN;
      if (n < 0) throw new Error(`netpoll: tryRead gave errno ${-n}`);
      if (n === 0) c.eof = true;
      c.end = n;
    }
  }
}

/** Serves `clients` TCP connections and `datagrams` datagrams from each, from one thread, driven only by poller events. */
async function serve(listener: TcpSocket, udp: UdpSocket, clients: number, datagrams: number): Promise<{ echoed: number; answered: number; wakeups: number }> {
  const poller = net().stack.poller<Entry>();
  poller.add(listener, POLLIN, { kind: 'listener' });
  poller.add(udp, POLLIN, { kind: 'udp' });
  const count = { bytes: 0 };
  let accepted = 0;
  let finished = 0;
  let answered = 0;
  let wakeups = 0;
  const dgram = new Uint8Array(2048);
  const from = { address: 0, port: 0 };
  while (finished < clients || answered < clients * datagrams) {
    const events: PollEvent<Entry>[] = await poller.wait(64, 10_000);
    if (events.length === 0) throw new Error(`netpoll: no event for 10 s (accepted ${accepted}, finished ${finished}, answered ${answered})`);
    wakeups++;
    for (const e of events) {
      const d = e.data;
      if (d.kind === 'listener') {
        for (let s = listener.tryAccept(); typeof s !== 'number'; s = listener.tryAccept()) {
          accepted++;
          s.setOption('TCP_NODELAY', 1);
          poller.add(s, POLLIN, { kind: 'conn', conn: { sock: s, buf: new Uint8Array(4096), start: 0, end: 0, eof: false } });
        }
      } else if (d.kind === 'udp') {
        for (let n = udp.tryRecvFrom(dgram, 0, dgram.length, from); n !== EAGAIN; n = udp.tryRecvFrom(dgram, 0, dgram.length, from)) {
          if (n < 0) throw new Error(`netpoll: tryRecvFrom gave errno ${-n}`);
          if (udp.sendTo(dgram, from.address, from.port, 0, n) !== n) throw new Error('netpoll: a UDP echo was not sent whole');
          answered++;
        }
      } else {
        const next = pump(d.conn, count);
        if (next !== 0) {
          poller.modify(d.conn.sock, next, d);
          continue;
        }
        if ((e.events & POLLHUP) !== 0 && d.conn.end > d.conn.start) throw new Error('netpoll: peer hung up with bytes still to echo');
        poller.remove(d.conn.sock);
        await d.conn.sock.close();
        finished++;
      }
    }
  }
  poller.remove(listener);
  poller.remove(udp);
  return { echoed: count.bytes, answered, wakeups };
}

/** Client `c`: a blocking TCP exchange of `bytes` bytes, then `datagrams` UDP round trips. Throws on any mismatch. */
async function client(c: number, bytes: number, datagrams: number): Promise<void> {
  const stack = net().stack;
  const s = stack.tcpSocket();
  await s.connect('127.0.0.1', TCP_PORT);
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = pattern(c, i);
  const send = async (): Promise<void> => {
    for (let off = 0; off < bytes; ) off += await s.write(out, off, Math.min(bytes - off, 3000));
    s.shutdown(SHUT_WR);
  };
  const receive = async (): Promise<number> => {
    const buf = new Uint8Array(8192);
    let got = 0;
    for (;;) {
      const n = await s.read(buf);
      if (n === 0) return got;
      for (let i = 0; i < n; i++) {
        if (buf[i] !== pattern(c, got + i)) throw new Error(`netpoll: client ${c} byte ${got + i} is ${buf[i]}, sent ${pattern(c, got + i)}`);
      }
      got += n;
    }
  };
  // The reader is a thread of its own: a thread's awaits must be sched calls
  // or kernel I/O, so two loops cannot share one thread through Promise.all.
  const reader = scheduler().spawn(receive, { name: `client-${c}-reader` });
  await send();
  const got = (await reader.join()) as number;
  if (got !== bytes) throw new Error(`netpoll: client ${c} got ${got} bytes back of ${bytes}`);
  await s.close();

  const u = stack.udpSocket();
  u.bind('127.0.0.1', 0);
  const buf = new Uint8Array(2048);
  const back = new Uint8Array(2048);
  for (let k = 0; k < datagrams; k++) {
    const len = 1 + ((c * 97 + k * 31) % 1400);
    for (let i = 0; i < len; i++) buf[i] = pattern(c + k, i);
    u.sendTo(buf, '127.0.0.1', UDP_PORT, 0, len);
    const d = await u.recvFrom(back);
    if (d.bytes !== len || d.port !== UDP_PORT) throw new Error(`netpoll: client ${c} datagram ${k} came back with ${d.bytes} bytes from port ${d.port}, sent ${len} to ${UDP_PORT}`);
    for (let i = 0; i < len; i++) if (back[i] !== buf[i]) throw new Error(`netpoll: client ${c} datagram ${k} differs at byte ${i}`);
  }
  u.close();
}

export async function main(argv: string[]): Promise<number> {
  const clients = arg(argv, '--clients', 8);
  const bytes = arg(argv, '--bytes', 100_000);
  const datagrams = arg(argv, '--datagrams', 20);
  const stack = net().stack;
  const listener = stack.tcpSocket();
  listener.setOption('SO_REUSEADDR', 1);
  listener.bind('127.0.0.1', TCP_PORT);
  listener.listen(clients);
  const udp = stack.udpSocket();
  udp.bind('127.0.0.1', UDP_PORT);
  const sched = scheduler();
  let finished = false;
  // A stall is a failure with evidence: after --watchdog seconds, print the stack's resources and counters and stop.
  const watchdogS = arg(argv, '--watchdog', 60);
  sched
    .spawn(
      async () => {
        await sched.sleep(watchdogS * 1e9);
        if (finished) return;
        console.log(JSON.stringify({ stuck: watchdogS, resources: stack.resources(), stats: stack.stats }));
        exit(1);
      },
      { name: 'watchdog' },
    )
    .detach();
  const server = sched.spawn(() => serve(listener, udp, clients, datagrams), { name: 'event-loop' });
  const threads = [];
  for (let c = 0; c < clients; c++) threads.push(sched.spawn(() => client(c, bytes, datagrams), { name: `client-${c}` }));
  for (const t of threads) await t.join();
  const r = (await server.join()) as { echoed: number; answered: number; wakeups: number };
  listener.close();
  udp.close();
  finished = true;
  const ok = r.echoed === clients * bytes && r.answered === clients * datagrams;
  console.log(JSON.stringify({ clients, echoed: r.echoed, datagrams: r.answered, wakeups: r.wakeups, ok }));
  return ok ? 0 : 1;
}
