/// <reference types="node" />
import { describe, expect, it } from 'vitest';
import { ADDR_B, twoStacks } from './host/twoStacks.js';
import { flushJobs, runUntil, settle } from './host/simulation.js';
import { receiveAll, sendAll } from './host/transfer.js';
import { VirtualClock } from './virtualClock.js';

async function connectedPair(netChannels: boolean) {
  const clock = new VirtualClock();
  const { a, b } = twoStacks({ clock, stack: { netChannels } });
  const l = b.tcpSocket();
  l.bind(0, 80);
  l.listen(4);
  const c = a.tcpSocket();
  const acc = l.accept();
  await settle(clock, c.connect(ADDR_B, 80));
  const s = await settle(clock, acc);
  return { clock, a, b, c, s };
}

describe('net channels', () => {
  it('deliver established-flow segments to the owning thread, which runs TCP input when woken', async () => {
    const { b, c, s } = await connectedPair(true);
    expect(s.tryRead(new Uint8Array(1))).toBe(-11); // (also delivers the accept's pending notification)
    let woken = 0;
    s.setWaker({ wake: () => woken++ });
    c.tryWrite(Uint8Array.of(1, 2, 3));
    expect(woken).toBe(1);
    expect(b.stats.channelDelivered).toBe(1);
    expect(s.tcb.rcvNxt - s.tcb.irs).toBe(1); // not processed yet: it waits on the ring
    expect(s.tryRead(new Uint8Array(8))).toBe(3); // the owner's call runs it
  });

  it('send SYN, FIN and RST down the ordinary path', async () => {
    const { clock, b, c, s } = await connectedPair(true);
    s.setWaker({ wake: () => {} });
    const before = b.stats.channelDelivered;
    c.shutdown(1);
    await flushJobs();
    expect(b.stats.channelDelivered).toBe(before);
    expect(s.state).toBe('CLOSE-WAIT');
    void clock;
  });

  it('fall back to the ordinary path when the ring is full, keeping segment order', async () => {
    const { b, c, s } = await connectedPair(true);
    s.setWaker({ wake: () => {} }); // an owner that never runs
    c.setOption('TCP_NODELAY', 1);
    for (let i = 0; i < 300; i++) c.tryWrite(Uint8Array.of(i & 255));
    expect(b.stats.channelRingFull).toBeGreaterThan(0);
    const buf = new Uint8Array(400);
    const n = s.tryRead(buf);
    expect(n).toBe(300);
    for (let i = 0; i < 300; i++) expect(buf[i]).toBe(i & 255);
  });

  it('can be switched off and on while a transfer runs, without losing a byte', async () => {
    const { clock, a, b, c, s } = await connectedPair(true);
    let done = 0;
    let sent = '';
    let got: { bytes: number; sha256: string } | undefined;
    void sendAll(c, 1 << 20, 9).then((h) => ((sent = h), done++));
    void receiveAll(s).then((r) => ((got = r), done++));
    let flips = 0;
    await runUntil(clock, () => {
      if (flips < 20) {
        b.netChannels = !b.netChannels;
        a.netChannels = !a.netChannels;
        flips++;
      }
      return done === 2;
    });
    expect(got).toEqual({ bytes: 1 << 20, sha256: sent });
    expect(b.stats.channelDelivered).toBeGreaterThan(0);
  });

  it('stay empty when switched off', async () => {
    const { b, c, s } = await connectedPair(false);
    c.tryWrite(Uint8Array.of(1));
    expect(b.stats.channelDelivered).toBe(0);
    expect(s.tryRead(new Uint8Array(4))).toBe(1);
  });
});
