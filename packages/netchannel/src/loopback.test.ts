/// <reference types="node" />
import { describe, expect, it } from 'vitest';
import { seededEntropy } from './entropy.js';
import { receiveAll, sendAll } from './host/transfer.js';
import { runUntil, settle } from './host/simulation.js';
import { NetStack } from './netStack.js';
import { VirtualClock } from './virtualClock.js';

describe('the loopback interface', () => {
  it('carries TCP between two sockets of one stack over 127.0.0.1 and to its own address', async () => {
    const clock = new VirtualClock();
    const s = new NetStack({ clock, timers: clock, entropy: seededEntropy(5) });
    expect(s.loopback.address).toBe(0x7f000001);
    const l = s.tcpSocket();
    l.bind('127.0.0.1', 8000);
    l.listen(4);
    const c = s.tcpSocket();
    const acc = l.accept();
    await settle(clock, c.connect('127.0.0.1', 8000));
    const srv = await settle(clock, acc);
    let done = 0;
    let got: { bytes: number; sha256: string } | undefined;
    let sent = '';
    void sendAll(c, 1 << 20, 3).then((h) => ((sent = h), done++));
    void receiveAll(srv).then((r) => ((got = r), done++));
    await runUntil(clock, () => done === 2);
    expect(got).toEqual({ bytes: 1 << 20, sha256: sent });
    await c.close();
    await srv.close();
    await l.close();
    expect(s.resources()).toMatchObject({ sockets: 0, mbufsInUse: 0 });
  });

  it('refuses the loopback interface a new address', () => {
    const clock = new VirtualClock();
    const s = new NetStack({ clock, timers: clock, entropy: seededEntropy(5) });
    expect(() => s.loopback.configure({ address: '10.1.1.1' })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
