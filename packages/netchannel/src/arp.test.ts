/// <reference types="node" />
import { describe, expect, it } from 'vitest';
import { etherFrame, PEER_IP, PEER_MAC, RawPeer, STACK_IP, STACK_MAC } from './host/rawPeer.js';
import { runFor, settle } from './host/simulation.js';
import { VirtualClock } from './virtualClock.js';

function arp(op: number, sha: Uint8Array, spa: number, tha: Uint8Array, tpa: number): Uint8Array {
  const p = new Uint8Array(28);
  const v = new DataView(p.buffer);
  p.set([0, 1, 8, 0, 6, 4, 0, op]);
  p.set(sha, 8);
  v.setUint32(14, spa);
  p.set(tha, 18);
  v.setUint32(24, tpa);
  return p;
}

const BCAST = new Uint8Array(6).fill(0xff);
const ZERO = new Uint8Array(6);
const OTHER_MAC = Uint8Array.of(2, 0, 0, 0, 0, 9);

function lastFrame(peer: RawPeer): Uint8Array {
  return peer.frames[peer.frames.length - 1]!;
}

describe('ARP (RFC 826)', () => {
  it('answers a request for its address and learns the asker', () => {
    const clock = new VirtualClock();
    const peer = new RawPeer(clock);
    peer.sendFrame(etherFrame(BCAST, PEER_MAC, 0x0806, arp(1, PEER_MAC, PEER_IP, ZERO, STACK_IP)));
    const f = lastFrame(peer);
    expect([f[12], f[13], f[20], f[21]]).toEqual([8, 6, 0, 2]);
    expect([...f.subarray(0, 6)]).toEqual([...PEER_MAC]);
    expect([...f.subarray(22, 28)]).toEqual([...STACK_MAC]);
    expect(peer.stack.interfaces[1]!.neighbour(PEER_IP)).toEqual(PEER_MAC);
  });

  it('ignores requests for other addresses and malformed packets, and never lets a sender claim our address', () => {
    const clock = new VirtualClock();
    const peer = new RawPeer(clock);
    const n = peer.frames.length;
    peer.sendFrame(etherFrame(BCAST, PEER_MAC, 0x0806, arp(1, PEER_MAC, PEER_IP, ZERO, 0x0a000063)));
    const bad = arp(1, PEER_MAC, PEER_IP, ZERO, STACK_IP);
    bad[4] = 8; // hardware length 8
    peer.sendFrame(etherFrame(BCAST, PEER_MAC, 0x0806, bad));
    peer.sendFrame(etherFrame(BCAST, OTHER_MAC, 0x0806, arp(2, OTHER_MAC, STACK_IP, STACK_MAC, STACK_IP)));
    expect(peer.frames.length).toBe(n);
    expect(peer.stack.stats.arpBad).toBe(1);
    expect(peer.stack.interfaces[1]!.neighbour(STACK_IP)).toBeNull();
  });

  it('resolves before sending, holds the packet meanwhile, and re-asks when an entry goes stale', async () => {
    const clock = new VirtualClock();
    const peer = new RawPeer(clock, { arp: { reachableMs: 10_000 } });
    const s = peer.stack.udpSocket();
    s.sendTo(Uint8Array.of(1), PEER_IP, 9);
    const kinds = peer.frames.map((f) => (f[12]! << 8) | f[13]!);
    expect(kinds).toEqual([0x0806, 0x0800]); // request, then the held datagram once answered
    s.sendTo(Uint8Array.of(2), PEER_IP, 9); // in use during the reachable time
    await runFor(clock, 10_500);
    const refresh = peer.frames[peer.frames.length - 1]!;
    expect([refresh[12], refresh[13]]).toEqual([8, 6]);
    expect([...refresh.subarray(0, 6)]).toEqual([...PEER_MAC]); // unicast re-validation (RFC 1122 §2.3.2.1)
    await runFor(clock, 60_000);
    expect(peer.stack.interfaces[1]!.neighbour(PEER_IP)).toBeNull(); // unused since: forgotten
  });

  it('gives up after three unanswered requests, drops held packets and reports EHOSTUNREACH to a connect', async () => {
    const clock = new VirtualClock();
    const peer = new RawPeer(clock, { netChannels: false, tcp: { synRetries: 2 } });
    peer.answerArp = false;
    const c = peer.stack.tcpSocket();
    const err = await settle(clock, c.connect(PEER_IP, 80).catch((e: unknown) => e));
    expect(err).toMatchObject({ code: 'EHOSTUNREACH' });
    expect(peer.stack.stats.arpDropped).toBeGreaterThan(0);
    await runFor(clock, 10_000);
    expect(peer.stack.resources()).toMatchObject({ mbufsInUse: 0, arpHeld: 0 });
  });
});
