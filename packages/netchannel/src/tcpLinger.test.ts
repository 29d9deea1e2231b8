/// <reference types="node" />
/**
 * SO_LINGER with net channels: while close() lingers, the peer's ACKs arrive
 * on the connection's channel, and they must still be run (the closed socket
 * stays the connection's owner until the linger ends).
 */
import { describe, expect, it } from 'vitest';
import { ADDR_B, twoStacks } from './host/twoStacks.js';
import { runUntil, settle } from './host/simulation.js';
import { VirtualClock } from './virtualClock.js';

async function lingeringClose(channels: boolean, peerReads: boolean) {
  const clock = new VirtualClock();
  const { a, b } = twoStacks({ clock, impairment: { delayMs: 20 }, stack: { netChannels: channels } });
  const l = b.tcpSocket();
  if (!peerReads) l.setOption('SO_RCVBUF', 4096); // the unread data cannot all be acknowledged
  l.bind(0, 5002);
  l.listen(1);
  const c = a.tcpSocket();
  const acc = l.accept();
  await settle(clock, c.connect(ADDR_B, 5002));
  const s = await settle(clock, acc);
  const data = new Uint8Array(48 * 1024).fill(7);
  await settle(clock, c.write(data));
  c.setOption('SO_LINGER', 10);
  const start = clock.now();
  let closedAt = -1;
  void c.close().then(() => (closedAt = clock.now()));
  let got = 0;
  if (peerReads) {
    void (async () => {
      const buf = new Uint8Array(8192);
      for (;;) {
        const n = await s.read(buf);
        if (n <= 0) break;
        got += n;
      }
    })();
  }
  await runUntil(clock, () => closedAt >= 0, 60_000);
  return { elapsed: closedAt - start, got, total: data.length };
}

describe('close() with SO_LINGER', () => {
  for (const channels of [true, false]) {
    it(`returns once the peer acknowledged everything (net channels ${channels ? 'on' : 'off'})`, async () => {
      const r = await lingeringClose(channels, true);
      expect(r.got).toBe(r.total);
      expect(r.elapsed).toBeLessThan(2000);
    });
  }

  it('returns after the linger time when the peer does not take the data', async () => {
    const r = await lingeringClose(true, false);
    expect(r.elapsed).toBeGreaterThanOrEqual(10_000);
    expect(r.elapsed).toBeLessThan(11_000);
  });
});
