/// <reference types="node" />
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipPacket, l4Checksum, PEER_IP, RawPeer, STACK_IP } from './host/rawPeer.js';
import { runFor } from './host/simulation.js';
import { VirtualClock } from './virtualClock.js';

function udpDatagram(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  const v = new DataView(u.buffer);
  v.setUint16(0, sport);
  v.setUint16(2, dport);
  v.setUint16(4, u.length);
  u.set(payload, 8);
  v.setUint16(6, l4Checksum(PEER_IP, STACK_IP, 17, u) || 0xffff);
  return u;
}

/** Splits a UDP datagram into IP fragments of `size` payload bytes (multiple of 8). */
function fragments(dgram: Uint8Array, size: number, id: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < dgram.length; off += size) {
    const part = dgram.subarray(off, Math.min(off + size, dgram.length));
    out.push(ipPacket(PEER_IP, STACK_IP, 17, part, { id, fragOff: off, mf: off + size < dgram.length }));
  }
  return out;
}

function setup(reassembly?: { maxDatagrams?: number; maxBytes?: number; timeoutMs?: number }) {
  const clock = new VirtualClock();
  const peer = new RawPeer(clock, { netChannels: false, ...(reassembly ? { reassembly } : {}) });
  const sock = peer.stack.udpSocket();
  sock.bind(0, 7000);
  return { clock, peer, stack: peer.stack, sock };
}

describe('IPv4 reassembly', () => {
  it('reassembles fragments in any order, with duplicates, into the datagram', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8000 }), fc.integer({ min: 1, max: 20 }), fc.array(fc.nat(), { maxLength: 40 }), (len, units, perm) => {
        const { clock, peer, stack, sock } = setup();
        const payload = Uint8Array.from({ length: len }, (_, i) => (i * 31) & 255);
        const frags = fragments(udpDatagram(1, 7000, payload), units * 8 * 8, 77);
        const order = frags.map((_, i) => i);
        for (let i = 0; i < perm.length; i++) {
          const j = perm[i]! % order.length;
          [order[i % order.length], order[j]] = [order[j]!, order[i % order.length]!];
        }
        for (const i of order) peer.sendIp(frags[i]!);
        if (frags.length > 1) peer.sendIp(frags[0]!); // a late duplicate: starts a reassembly that never completes
        const buf = new Uint8Array(9000);
        const n = sock.tryRecvFrom(buf);
        expect(n).toBe(len);
        expect(Buffer.compare(buf.subarray(0, len), payload)).toBe(0);
        sock.close();
        expect(stack.resources().fragmentsHeld).toBe(frags.length > 1 ? 1 : 0);
        clock.advance(31_000); // the reassembly timeout frees it
        expect(stack.resources()).toMatchObject({ mbufsInUse: 0, fragmentsHeld: 0 });
      }),
      { numRuns: 60 },
    );
  });

  it('discards a datagram whose fragments overlap inconsistently', () => {
    const { peer, sock, stack } = setup();
    const d = udpDatagram(1, 7000, new Uint8Array(100));
    peer.sendIp(ipPacket(PEER_IP, STACK_IP, 17, d.subarray(0, 64), { id: 5, fragOff: 0, mf: true }));
    peer.sendIp(ipPacket(PEER_IP, STACK_IP, 17, d.subarray(32, 96), { id: 5, fragOff: 32, mf: true }));
    peer.sendIp(ipPacket(PEER_IP, STACK_IP, 17, d.subarray(64), { id: 5, fragOff: 64 }));
    expect(sock.queued).toBe(0);
    expect(stack.stats.ipReasmFails).toBeGreaterThan(0);
    expect(stack.resources().fragmentsHeld).toBe(1); // only the last, starting afresh
  });

  it('frees incomplete datagrams after the timeout and under the memory limit', async () => {
    const { clock, peer, stack } = setup({ maxBytes: 8 * 2048, timeoutMs: 30_000 });
    for (let id = 0; id < 12; id++) peer.sendIp(ipPacket(PEER_IP, STACK_IP, 17, new Uint8Array(64), { id, fragOff: 0, mf: true }));
    expect(stack.resources().fragmentsHeld).toBe(8);
    await runFor(clock, 31_000);
    expect(stack.resources()).toMatchObject({ fragmentsHeld: 0, mbufsInUse: 0 });
  });

  it('drops bad headers: wrong version, short length, bad checksum, martian source', () => {
    const { peer, stack } = setup();
    const good = ipPacket(PEER_IP, STACK_IP, 17, udpDatagram(1, 7000, Uint8Array.of(1)));
    const bad1 = good.slice();
    bad1[0] = 0x65;
    const bad2 = good.slice();
    bad2[10]! ^= 1;
    const bad3 = ipPacket(0xffffffff, STACK_IP, 17, udpDatagram(1, 7000, Uint8Array.of(1)));
    const bad4 = good.slice(0, 15);
    for (const p of [bad1, bad2, bad3, bad4]) peer.sendIp(p);
    expect(stack.stats.ipInHdrErrors + stack.stats.ipInAddrErrors).toBe(4);
    peer.sendIp(good);
    expect(stack.stats.udpInDatagrams).toBe(1);
  });

  it('answers an unknown protocol with ICMP protocol unreachable', () => {
    const { peer } = setup();
    peer.sendIp(ipPacket(PEER_IP, STACK_IP, 99, new Uint8Array(8)));
    const f = peer.frames[peer.frames.length - 1]!;
    expect(f[14 + 9]).toBe(1); // ICMP
    expect([f[34], f[35]]).toEqual([3, 2]);
  });
});
