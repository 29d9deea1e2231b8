/**
 * switch:NAME driven by guest-side netchannel stacks: two ports of one switch
 * talk (ARP, ping, TCP), a port of another switch hears nothing, and the
 * learning table behaves (unicast to one port, flooding for the unknown).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { HvError } from '../errors.js';
import { guestStack } from './guestHarness.js';
import { SwitchHub, type SwitchPort } from './switchHub.js';
import { switchName, SwitchNetBackend } from './switchNetBackend.js';

const open: SwitchNetBackend[] = [];
afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
});

function port(name: string): SwitchNetBackend {
  const b = new SwitchNetBackend(name);
  open.push(b);
  return b;
}

describe('switch backend', () => {
  it('joins the ports of one name: ping and TCP echo between two guests; another switch hears nothing', async () => {
    const a = guestStack(port('a'), { address: '192.168.7.1', macLast: 1 });
    const b = guestStack(port('a'), { address: '192.168.7.2', macLast: 2 });
    const c = guestStack(port('b'), { address: '192.168.7.3', macLast: 3 });
    await expect(a.stack.ping('192.168.7.2', { timeoutMs: 5000 })).resolves.toBeGreaterThanOrEqual(0);
    await expect(b.stack.ping('192.168.7.1', { timeoutMs: 5000 })).resolves.toBeGreaterThanOrEqual(0);

    const l = b.stack.tcpSocket();
    l.bind(0, 9000);
    l.listen();
    void (async () => {
      const s = await l.accept();
      const buf = new Uint8Array(65536);
      for (let n = await s.read(buf); n > 0; n = await s.read(buf)) await s.write(buf, 0, n);
      await s.close();
    })();
    const s = a.stack.tcpSocket();
    await s.connect('192.168.7.2', 9000);
    const data = randomBytes(512 * 1024);
    const got: Uint8Array[] = [];
    const reading = (async () => {
      const buf = new Uint8Array(65536);
      for (let n = await s.read(buf); n > 0; n = await s.read(buf)) got.push(buf.slice(0, n));
    })();
    await s.write(data);
    s.shutdown(1);
    await reading;
    expect(Buffer.concat(got).equals(data)).toBe(true);
    await s.close();
    await l.close();

    expect(c.link.framesIn).toBe(0);
    await expect(c.stack.ping('192.168.7.1', { timeoutMs: 300 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('sends a frame to a learned MAC to that port only, floods the unknown and broadcasts', () => {
    const hub = SwitchHub.named('learning-test');
    const got = [0, 0, 0];
    const ports: SwitchPort[] = got.map((_, i) => ({ deliver: () => void got[i]!++ }));
    for (const p of ports) hub.join(p);
    const frame = (dst: number, src: number): Uint8Array => Uint8Array.of(2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 0x08, 0x00, ...new Uint8Array(46));
    hub.input(ports[0]!, frame(9, 1), 0, 60); // unknown destination: flooded
    expect(got).toEqual([0, 1, 1]);
    hub.input(ports[1]!, frame(1, 2), 0, 60); // port 0 learned as MAC 1
    expect(got).toEqual([1, 1, 1]);
    hub.input(ports[2]!, frame(2, 3), 0, 60); // MAC 2 learned on port 1
    expect(got).toEqual([1, 2, 1]);
    const bcast = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06, ...new Uint8Array(46));
    hub.input(ports[0]!, bcast, 0, 60);
    expect(got).toEqual([1, 3, 2]);
    hub.input(ports[0]!, frame(1, 1), 0, 60); // to itself: filtered
    expect(got).toEqual([1, 3, 2]);
    expect(hub.learned).toBe(3);
    hub.leave(ports[1]!);
    expect(hub.learned).toBe(2);
    for (const p of [ports[0]!, ports[2]!]) hub.leave(p);
    expect(SwitchHub.named('learning-test').portCount).toBe(0);
  });

  it('keeps the link up while open, holds frames for a paused device, drops after close', async () => {
    const x = port('pause');
    const y = port('pause');
    const seen: number[] = [];
    x.attach({ frame: (_d, _o, len) => void seen.push(len), link: () => {}, writable: () => {} });
    expect(x.linkUp).toBe(true);
    x.pause();
    const f = new Uint8Array(60).fill(0xff, 0, 6);
    y.send(f, 0, 60);
    expect(seen).toEqual([]);
    x.resume();
    expect(seen).toEqual([60]);
    await x.close();
    expect(x.linkUp).toBe(false);
    expect(x.send(f, 0, 60)).toBe(false);
    expect(y.hub.portCount).toBe(1);
  });

  it('parses switch:NAME and refuses a bad name', () => {
    expect(switchName('switch:lan0')).toBe('lan0');
    expect(switchName('user')).toBeNull();
    expect(() => new SwitchNetBackend('')).toThrow(HvError);
    expect(() => new SwitchNetBackend('a b')).toThrow(/one word/);
  });
});
