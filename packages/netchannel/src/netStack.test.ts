/// <reference types="node" />
import { describe, expect, it } from 'vitest';
import { ADDR_A, ADDR_B, twoStacks } from './host/twoStacks.js';
import { runFor, settle } from './host/simulation.js';
import { VirtualClock } from './virtualClock.js';

describe('two stacks over a link pair', () => {
  it('connects, echoes and closes over TCP', async () => {
    const clock = new VirtualClock();
    const { a, b } = twoStacks({ clock });
    const l = b.tcpSocket();
    l.bind(0, 7);
    l.listen(4);
    const c = a.tcpSocket();
    const accepted = l.accept();
    await settle(clock, c.connect(ADDR_B, 7));
    const s = await settle(clock, accepted);
    expect(c.state).toBe('ESTABLISHED');
    expect(s.remoteAddress).toBe(ADDR_A);
    await settle(clock, c.write(new TextEncoder().encode('hello')));
    const buf = new Uint8Array(100);
    const n = await settle(clock, s.read(buf));
    expect(new TextDecoder().decode(buf.subarray(0, n))).toBe('hello');
    await settle(clock, s.write(buf, 0, n));
    const m = await settle(clock, c.read(buf));
    expect(m).toBe(5);
    await c.close();
    expect(await settle(clock, s.read(buf))).toBe(0);
    await s.close();
    await l.close();
    await runFor(clock, 200_000);
    for (const st of [a, b]) {
      const r = st.resources();
      expect(r).toMatchObject({ mbufsInUse: 0, connections: 0, sockets: 0, arenaBytesInUse: 0 });
    }
  });
});
