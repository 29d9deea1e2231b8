/// <reference types="node" />
import { describe, expect, it } from 'vitest';
import { ADDR_A, ADDR_B, twoStacks } from './host/twoStacks.js';
import { flushJobs, runFor, settle } from './host/simulation.js';
import { VirtualClock } from './virtualClock.js';
import type { SockAddr } from './socketOptions.js';

function pair() {
  const clock = new VirtualClock();
  return { clock, ...twoStacks({ clock }) };
}

describe('UDP sockets', () => {
  it('send and receive datagrams both ways, with the sender address', async () => {
    const { clock, a, b } = pair();
    const sa = a.udpSocket();
    const sb = b.udpSocket();
    sb.bind(0, 53);
    expect(sa.sendTo(Uint8Array.of(1, 2, 3), ADDR_B, 53)).toBe(3);
    const buf = new Uint8Array(64);
    const d = await settle(clock, sb.recvFrom(buf));
    expect(d).toMatchObject({ bytes: 3, address: ADDR_A, port: sa.localPort });
    expect(sb.sendTo(Uint8Array.of(9), d.address, d.port)).toBe(1);
    const from: SockAddr = { address: 0, port: 0 };
    await flushJobs();
    expect(sa.tryRecvFrom(buf, 0, 64, from)).toBe(1);
    expect(from.port).toBe(53);
    sa.close();
    sb.close();
    expect(a.resources()).toMatchObject({ mbufsInUse: 0, sockets: 0, udpBindings: 0 });
  });

  it('carries a 60 000-byte datagram through IP fragmentation and reassembly', async () => {
    const { clock, a, b } = pair();
    const sb = b.udpSocket();
    sb.bind(0, 9000);
    const big = Uint8Array.from({ length: 60_000 }, (_, i) => (i * 13) & 255);
    expect(a.udpSocket().sendTo(big, ADDR_B, 9000)).toBe(60_000);
    const buf = new Uint8Array(65536);
    const d = await settle(clock, sb.recvFrom(buf));
    expect(d.bytes).toBe(60_000);
    expect(Buffer.compare(buf.subarray(0, 60_000), big)).toBe(0);
    expect(a.stats.ipFragCreates).toBe(41);
    expect(b.stats.ipReasmOKs).toBe(1);
    sb.close();
    expect(b.resources().mbufsInUse).toBe(0);
  });

  it('reports ICMP port unreachable as ECONNREFUSED on a connected socket (RFC 1122 §4.1.3.3)', async () => {
    const { clock, a, b } = pair();
    const s = a.udpSocket();
    s.connect(ADDR_B, 4444);
    expect(s.send(Uint8Array.of(1))).toBe(1);
    await runFor(clock, 10);
    expect(b.stats.udpNoPorts).toBe(1);
    await expect(settle(clock, s.recvFrom(new Uint8Array(4)))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('delivers broadcasts to every socket bound with SO_REUSEADDR, and requires SO_BROADCAST to send one', async () => {
    const { clock, a, b } = pair();
    const r1 = b.udpSocket();
    const r2 = b.udpSocket();
    r1.setOption('SO_REUSEADDR', 1);
    r2.setOption('SO_REUSEADDR', 1);
    r1.bind(0, 67);
    r2.bind(0, 67);
    const s = a.udpSocket();
    expect(s.sendTo(Uint8Array.of(5), '255.255.255.255', 67)).toBe(-13);
    s.setOption('SO_BROADCAST', 1);
    expect(s.sendTo(Uint8Array.of(5), '255.255.255.255', 67)).toBe(1);
    await runFor(clock, 1);
    expect([r1.queued, r2.queued]).toEqual([1, 1]);
    const third = b.udpSocket();
    expect(() => third.bind(0, 67)).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
  });

  it('drops datagrams beyond SO_RCVBUF and counts them', async () => {
    const { clock, a, b } = pair();
    const r = b.udpSocket();
    r.bind(0, 7);
    r.setOption('SO_RCVBUF', 8 * 2048);
    const s = a.udpSocket();
    for (let i = 0; i < 20; i++) s.sendTo(new Uint8Array(100), ADDR_B, 7);
    await runFor(clock, 1);
    expect(r.queued).toBe(8);
    expect(b.stats.udpRcvbufErrors).toBe(12);
    r.close();
    expect(b.resources().mbufsInUse).toBe(0);
  });

  it('verifies received checksums but accepts "no checksum" (zero, RFC 768)', async () => {
    const { clock, a, b } = pair();
    const r = b.udpSocket();
    r.bind(0, 7);
    // Corrupt one datagram in flight with a link hook on B.
    let flip = true;
    const off = b.addHook('link', (p) => {
      const isUdp = p.bytes[p.frameOffset + 12] === 8 && p.bytes[p.frameOffset + 23] === 17;
      if (flip && isUdp) {
        flip = false;
        p.bytes[p.frameOffset + 42]! ^= 0xff; // first payload byte
      }
      return 0;
    });
    a.udpSocket().sendTo(Uint8Array.of(1, 2), ADDR_B, 7);
    await runFor(clock, 1);
    expect(r.queued).toBe(0);
    expect(b.stats.udpInErrors).toBe(1);
    off();
  });
});
