/// <reference types="node" />
import { describe, expect, it } from 'vitest';
import { ADDR_B, twoStacks } from './host/twoStacks.js';
import { flushJobs, settle } from './host/simulation.js';
import { EPOLLET, EPOLLONESHOT, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP } from './socketOptions.js';
import { VirtualClock } from './virtualClock.js';

async function connected() {
  const clock = new VirtualClock();
  const { a, b } = twoStacks({ clock });
  const l = b.tcpSocket();
  l.bind(0, 80);
  l.listen(4);
  const c = a.tcpSocket();
  const acc = l.accept();
  await settle(clock, c.connect(ADDR_B, 80));
  const s = await settle(clock, acc);
  return { clock, a, b, l, c, s };
}

describe('poll and the Poller', () => {
  it('reports POLLIN, POLLOUT, POLLRDHUP and POLLHUP as the connection moves', async () => {
    const { clock, c, s } = await connected();
    expect(s.poll()).toBe(POLLOUT);
    c.tryWrite(Uint8Array.of(1));
    await flushJobs();
    expect(s.poll()).toBe(POLLIN | POLLOUT);
    s.tryRead(new Uint8Array(4));
    c.shutdown(1);
    await flushJobs();
    expect(s.poll()).toBe(POLLIN | POLLOUT | POLLRDHUP);
    s.shutdown(1);
    await settle(clock, Promise.resolve());
    expect(s.poll() & POLLHUP).toBe(POLLHUP);
  });

  it('a listener is readable when a connection waits; a reset socket reports POLLERR', async () => {
    const { clock, a, l, c, s } = await connected();
    const p = a.poller<string>();
    expect(l.poll()).toBe(0);
    const c2 = a.tcpSocket();
    void c2.connect(ADDR_B, 80);
    await settle(clock, l.waitFor(POLLIN));
    expect(l.poll()).toBe(POLLIN);
    p.add(c, POLLIN, 'c');
    s.abort();
    const ev = await settle(clock, p.wait());
    expect(ev[0]!.data).toBe('c');
    expect(ev[0]!.events & POLLERR).toBe(POLLERR);
  });

  it('is level-triggered by default, edge-triggered with EPOLLET, one-shot with EPOLLONESHOT', async () => {
    const { c, s, b } = await connected();
    const lt = b.poller<number>();
    const et = b.poller<number>();
    const once = b.poller<number>();
    lt.add(s, POLLIN, 1);
    et.add(s, POLLIN | EPOLLET, 2);
    once.add(s, POLLIN | EPOLLONESHOT, 3);
    c.setOption('TCP_NODELAY', 1);
    c.tryWrite(Uint8Array.of(7));
    await flushJobs();
    expect(lt.tryWait().length).toBe(1);
    expect(lt.tryWait().length).toBe(1); // still readable: reported again
    expect(et.tryWait().length).toBe(1);
    expect(et.tryWait().length).toBe(0); // no new edge
    expect(once.tryWait().length).toBe(1);
    c.tryWrite(Uint8Array.of(8));
    await flushJobs();
    expect(et.tryWait().length).toBe(1); // a new edge
    expect(once.tryWait().length).toBe(0); // disabled until modified
    s.tryRead(new Uint8Array(8));
    expect(lt.tryWait().length).toBe(0);
    lt.remove(s);
    expect(lt.size).toBe(0);
  });

  it('wait times out on the stack clock', async () => {
    const { clock, s, b } = await connected();
    const p = b.poller();
    p.add(s, POLLIN, null);
    const t0 = clock.now();
    expect(await settle(clock, p.wait(8, 250))).toEqual([]);
    expect(clock.now() - t0).toBe(250);
  });
});
