/// <reference types="node" />
import { describe, expect, it } from 'vitest';
import { ADDR_A, ADDR_B, twoStacks } from './host/twoStacks.js';
import { runFor, settle } from './host/simulation.js';
import { PFIL_CONSUMED, PFIL_PASS, type HookPacket } from './packetHooks.js';
import { VirtualClock } from './virtualClock.js';

/** An in-place UDP responder on port 11211: replies "VALUE <request>" without a socket (osv-memcached's trick). */
function memcacheLike(p: HookPacket): number {
  if (p.protocol !== 17) return PFIL_PASS;
  const b = p.bytes;
  const dport = (b[p.l4Offset + 2]! << 8) | b[p.l4Offset + 3]!;
  if (dport !== 11211) return PFIL_PASS;
  const payload = p.l4Offset + 8;
  const n = p.l4Length - 8;
  b.copyWithin(payload + 6, payload, payload + n);
  b.set([86, 65, 76, 85, 69, 32], payload); // "VALUE "
  return p.replyUdp(n + 6) === 0 ? PFIL_CONSUMED : PFIL_PASS;
}

describe('packet hooks (PFIL)', () => {
  it('an IP hook answers a UDP request in place, before any socket', async () => {
    const clock = new VirtualClock();
    const { a, b } = twoStacks({ clock });
    const remove = b.addHook('ip', memcacheLike);
    const c = a.udpSocket();
    c.bind(0, 5555);
    c.sendTo(new TextEncoder().encode('get k'), ADDR_B, 11211);
    const buf = new Uint8Array(64);
    const d = await settle(clock, c.recvFrom(buf));
    expect(new TextDecoder().decode(buf.subarray(0, d.bytes))).toBe('VALUE get k');
    expect(d).toMatchObject({ address: ADDR_B, port: 11211 });
    expect(b.stats.hookConsumed).toBe(1);
    expect(b.stats.udpInDatagrams).toBe(0);
    remove();
    c.sendTo(Uint8Array.of(1), ADDR_B, 11211);
    await runFor(clock, 1);
    expect(b.stats.udpNoPorts).toBe(1); // without the hook the port is closed
    expect(b.resources().mbufsInUse).toBe(0);
  });

  it('answers on loopback too, and a hook that throws is counted and passed over', async () => {
    const clock = new VirtualClock();
    const { a } = twoStacks({ clock });
    a.addHook('ip', () => {
      throw new Error('boom');
    });
    a.addHook('ip', memcacheLike);
    const c = a.udpSocket();
    c.sendTo(new TextEncoder().encode('x'), '127.0.0.1', 11211);
    const buf = new Uint8Array(64);
    const d = await settle(clock, c.recvFrom(buf));
    expect(new TextDecoder().decode(buf.subarray(0, d.bytes))).toBe('VALUE x');
    void ADDR_A;
  });

  it('a link hook sees raw frames and can drop them', async () => {
    const clock = new VirtualClock();
    const { a, b } = twoStacks({ clock });
    let seen = 0;
    b.addHook('link', (p) => {
      seen++;
      return p.frameLength > 0 && p.bytes[p.frameOffset + 12] === 0x08 && p.bytes[p.frameOffset + 13] === 0x00 ? PFIL_CONSUMED : PFIL_PASS;
    });
    await expect(settle(clock, a.ping(ADDR_B, { timeoutMs: 500 }))).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(seen).toBe(2); // the ARP request passed, the echo request was dropped
  });
});
