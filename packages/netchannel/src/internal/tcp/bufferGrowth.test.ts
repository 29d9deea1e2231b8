/// <reference types="node" />
/**
 * Socket rings start small and grow with use: the ring moves keep every byte
 * (including out-of-order data waiting beyond the readable part), a bulk
 * transfer reaches its full SO_RCVBUF/SO_SNDBUF rings, many idle connections
 * fit an arena that could not hold their full-size rings, and a full arena
 * leaves rings small without breaking the stream.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADDR_B, twoStacks } from '../../host/twoStacks.js';
import { runFor, runUntil, settle } from '../../host/simulation.js';
import { receiveAll, sendAll } from '../../host/transfer.js';
import type { TcpSocket } from '../../tcpSocket.js';
import { VirtualClock } from '../../virtualClock.js';
import { INITIAL_RING_BYTES } from './bufferGrowth.js';
import { RecvBuffer } from './recvBuffer.js';
import { SendBuffer } from './sendBuffer.js';

/** The connection block behind a socket (test access to internals). */
const tcbOf = (s: TcpSocket): { snd: SendBuffer | null; rcv: RecvBuffer | null } => (s as unknown as { tcb: { snd: SendBuffer | null; rcv: RecvBuffer | null } }).tcb;

describe('ring moves', () => {
  it('RecvBuffer.moveTo keeps readable and out-of-order bytes wherever the head was', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 300 }), (skew, inOrder, gap) => {
        const mem = new Uint8Array(8192);
        const rb = new RecvBuffer(mem, 1024, 1024);
        // Move the head to `skew` by writing and reading that many bytes.
        const junk = new Uint8Array(skew);
        rb.place(0, junk, 0, skew);
        rb.advance(skew, 0);
        rb.read(new Uint8Array(skew), 0, skew);
        const stream = Uint8Array.from({ length: inOrder + gap + 200 }, (_, i) => (i * 7 + 3) & 255);
        let nxt = skew;
        rb.place(0, stream, 0, inOrder);
        nxt += rb.advance(inOrder, nxt);
        // 200 bytes out of order, `gap` bytes past RCV.NXT.
        rb.place(gap, stream, inOrder + gap, 200);
        expect(rb.addOoo(nxt + gap, nxt + gap + 200, nxt)).toBe(true);
        rb.moveTo(4096, 2048);
        expect(rb.cap).toBe(2048);
        // Fill the gap: everything becomes readable in order.
        rb.place(0, stream, inOrder, gap);
        nxt += rb.advance(gap, nxt);
        expect(nxt).toBe(skew + inOrder + gap + 200);
        const out = new Uint8Array(stream.length);
        expect(rb.read(out, 0, out.length)).toBe(stream.length);
        expect(out).toEqual(stream);
      }),
    );
  });

  it('SendBuffer.moveTo keeps the unacknowledged bytes in order', () => {
    const mem = new Uint8Array(8192);
    const sb = new SendBuffer(mem, 0, 1024);
    const data = Uint8Array.from({ length: 1500 }, (_, i) => i & 255);
    expect(sb.append(data, 0, 1000)).toBe(1000);
    sb.consume(700); // head at 700
    expect(sb.append(data, 1000, 500)).toBe(500); // wraps
    sb.moveTo(4096, 4096);
    expect(sb.append(data, 0, 1500)).toBe(1500);
    const out = new Uint8Array(2300);
    sb.copyOut(out, 0, 0, 2300);
    expect(out.subarray(0, 800)).toEqual(data.subarray(700, 1500));
    expect(out.subarray(800)).toEqual(data);
  });
});

async function connectPair(clock: VirtualClock, a: ReturnType<typeof twoStacks>['a'], b: ReturnType<typeof twoStacks>['b'], port: number) {
  const l = b.tcpSocket();
  l.bind(0, port);
  l.listen(256);
  const c = a.tcpSocket();
  const acc = l.accept();
  await settle(clock, c.connect(ADDR_B, port));
  return { l, c, s: await settle(clock, acc) };
}

describe('rings in a running stack', () => {
  it('start at 16 KiB and grow to the full SO_RCVBUF/SO_SNDBUF rings during a bulk transfer', async () => {
    const clock = new VirtualClock();
    const { a, b } = twoStacks({ clock });
    const { l, c, s } = await connectPair(clock, a, b, 5001);
    expect(tcbOf(c).snd!.cap).toBe(INITIAL_RING_BYTES);
    expect(tcbOf(s).rcv!.cap).toBe(INITIAL_RING_BYTES);
    expect(c.getOption('SO_SNDBUF')).toBe(256 * 1024); // the limit, as getsockopt reports it
    let sent = '';
    let got: { bytes: number; sha256: string } | undefined;
    void sendAll(c, 8 << 20, 5).then((h) => (sent = h));
    void receiveAll(s).then((r) => (got = r));
    await runUntil(clock, () => got !== undefined, 600_000);
    expect(got).toEqual({ bytes: 8 << 20, sha256: sent });
    // The send ring grew to hold what the application writes at once; the receive ring to open the window.
    expect(tcbOf(c).snd!.cap).toBeGreaterThan(INITIAL_RING_BYTES);
    expect(tcbOf(s).rcv!.cap).toBeGreaterThan(INITIAL_RING_BYTES);
    await c.close();
    await s.close();
    await l.close();
    await runFor(clock, 300_000);
    for (const st of [a, b]) expect(st.resources()).toMatchObject({ arenaBytesInUse: 0, connections: 0 });
  });

  it('200 idle connections fit 16 MiB of packet memory, whose arena holds about 23 at full size', async () => {
    const clock = new VirtualClock();
    const memory = { byteLength: 16 << 20 };
    const { a, b } = twoStacks({ clock, stack: { memory } });
    const l = b.tcpSocket();
    l.bind(0, 6000);
    l.listen(256);
    const pairs: { c: TcpSocket; s: TcpSocket }[] = [];
    for (let i = 0; i < 200; i++) {
      const c = a.tcpSocket();
      const acc = l.accept();
      await settle(clock, c.connect(ADDR_B, 6000));
      pairs.push({ c, s: await settle(clock, acc) });
    }
    // Each end still echoes: a byte each way on every connection.
    const one = new Uint8Array([42]);
    for (const { c, s } of pairs) {
      expect(c.tryWrite(one)).toBe(1);
      await runFor(clock, 1);
      const got = new Uint8Array(1);
      expect(s.tryRead(got)).toBe(1);
      expect(got[0]).toBe(42);
    }
    expect(b.resources().arenaBytesInUse).toBeLessThanOrEqual(200 * 2 * INITIAL_RING_BYTES);
    for (const { c, s } of pairs) {
      c.abort();
      s.abort();
    }
    l.close();
  });

  it('with no arena left to grow into, rings stay small and the stream still arrives whole', async () => {
    const clock = new VirtualClock();
    // Room for the scratch areas and about one connection's starting rings on each side.
    const memory = { byteLength: 64 * 2048 + 192 * 1024, mbufCount: 64 };
    const { a, b } = twoStacks({ clock, stack: { memory } });
    const { l, c, s } = await connectPair(clock, a, b, 5002);
    let sent = '';
    let got: { bytes: number; sha256: string } | undefined;
    void sendAll(c, 1 << 20, 9).then((h) => (sent = h));
    void receiveAll(s).then((r) => (got = r));
    await runUntil(clock, () => got !== undefined, 600_000);
    expect(got).toEqual({ bytes: 1 << 20, sha256: sent });
    expect(tcbOf(s).rcv!.cap).toBeLessThan(256 * 1024);
    await c.close();
    await s.close();
    await l.close();
  });

  it('busy connections stop growing at the pressure level, so new connections can still start', async () => {
    const clock = new VirtualClock();
    const memory = { byteLength: 3 << 20 };
    const { a, b } = twoStacks({ clock, stack: { memory } });
    const l = b.tcpSocket();
    l.bind(0, 7000);
    l.listen(64);
    const open: TcpSocket[] = [];
    const connect = async (): Promise<{ c: TcpSocket; s: TcpSocket }> => {
      const c = a.tcpSocket();
      const acc = l.accept();
      await settle(clock, c.connect(ADDR_B, 7000));
      const s = await settle(clock, acc);
      open.push(c, s);
      return { c, s };
    };
    // Eight senders whose receivers do not read yet: every ring fills and asks to grow (2 MiB per stack if allowed, in an arena of 2.25 MiB).
    const receivers: TcpSocket[] = [];
    let sent = 0;
    for (let i = 0; i < 8; i++) {
      const { c, s } = await connect();
      void sendAll(c, 2 << 20, i).then(() => sent++);
      receivers.push(s);
    }
    await runFor(clock, 2000);
    for (const st of [a, b]) expect(st.pool.arena.bytesInUse).toBeLessThan(st.pool.arena.capacity * 0.8);
    // Eight more connections still get their starting rings.
    for (let i = 0; i < 8; i++) await connect();
    let got = 0;
    for (const s of receivers) void receiveAll(s).then((r) => (got += r.bytes));
    await runUntil(clock, () => sent === 8 && got === 8 * (2 << 20), 600_000);
    for (const s of open) s.abort();
    l.close();
  });
});
