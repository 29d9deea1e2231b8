/// <reference types="node" />
import { describe, expect, it } from 'vitest';
import { ipPacket, PEER_IP, RawPeer, STACK_IP } from './host/rawPeer.js';
import { settle } from './host/simulation.js';
import { ADDR_A, ADDR_B, twoStacks } from './host/twoStacks.js';
import { VirtualClock } from './virtualClock.js';

function echo(id: number, seq: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(8 + payload.length);
  p[0] = 8;
  p[4] = id >>> 8;
  p[5] = id & 255;
  p[6] = seq >>> 8;
  p[7] = seq & 255;
  p.set(payload, 8);
  let s = 0;
  for (let i = 0; i < p.length; i += 2) s += (p[i]! << 8) | (p[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  const c = ~s & 0xffff;
  p[2] = c >>> 8;
  p[3] = c & 255;
  return p;
}

describe('ICMP (RFC 792)', () => {
  it('answers an echo request with the same id, sequence and data', () => {
    const peer = new RawPeer(new VirtualClock());
    peer.sendIp(ipPacket(PEER_IP, STACK_IP, 1, echo(0x1234, 7, Uint8Array.of(9, 8, 7))));
    const f = peer.frames[peer.frames.length - 1]!;
    const icmp = f.subarray(34);
    expect([icmp[0], icmp[4], icmp[5], icmp[7], ...icmp.subarray(8, 11)]).toEqual([0, 0x12, 0x34, 7, 9, 8, 7]);
  });

  it('ignores echo requests with a bad checksum and to broadcast', () => {
    const peer = new RawPeer(new VirtualClock());
    const bad = echo(1, 1, Uint8Array.of(1));
    bad[8]! ^= 1;
    peer.sendIp(ipPacket(PEER_IP, STACK_IP, 1, bad));
    peer.sendIp(ipPacket(PEER_IP, 0xffffffff, 1, echo(1, 1, Uint8Array.of(1))));
    expect(peer.frames.length).toBe(0);
    expect(peer.stack.stats.icmpInErrors).toBe(1);
  });

  it('ping works between stacks, to itself over loopback, and times out to nowhere', async () => {
    const clock = new VirtualClock();
    const { a, b } = twoStacks({ clock, impairment: { delayMs: 5 } });
    expect(await settle(clock, a.ping(ADDR_B))).toBeCloseTo(20, 5); // ARP request and reply first
    expect(await settle(clock, a.ping(ADDR_B))).toBeCloseTo(10, 5);
    expect(await settle(clock, b.ping(ADDR_A, { size: 1400 }))).toBeCloseTo(10, 5);
    expect(await settle(clock, a.ping('127.0.0.1'))).toBe(0);
    expect(await settle(clock, a.ping(ADDR_A))).toBe(0);
    await expect(settle(clock, a.ping('10.0.0.77', { timeoutMs: 2000 }))).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    await expect(settle(clock, a.ping('192.168.9.9'))).rejects.toMatchObject({ code: 'ENETUNREACH' });
  });
});
