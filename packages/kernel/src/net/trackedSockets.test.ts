/// <reference types="node" />
import { describe, expect, it } from 'vitest';
import { settleWakes, tracked } from './trackedSockets.js';

/** A one-thread stand-in for sched: waitUntil re-checks its predicate on each wake(). */
function fakeSched() {
  let wakeup: (() => void) | null = null;
  const s = {
    wakes: 0,
    current: () => ({ id: 7 }),
    wake(tid: number): boolean {
      expect(tid).toBe(7);
      s.wakes++;
      const w = wakeup;
      wakeup = null;
      w?.();
      return w !== null;
    },
    async waitUntil(pred: () => boolean): Promise<void> {
      while (!pred()) await new Promise<void>((r) => (wakeup = r));
    },
  };
  return s;
}

/** The I/O wait service's track when no device completes: it never returns. */
const neverCompletes = <T>(): Promise<T> => new Promise<T>(() => {});

describe('settleWakes', () => {
  it('ends the wait when the promise settles without a device completion (a stack timer)', async () => {
    const sched = fakeSched();
    const track = settleWakes(sched as never, neverCompletes);
    const p = new Promise<string>((r) => setTimeout(() => r('lingered'), 20));
    await expect(track(p)).resolves.toBe('lingered');
    expect(sched.wakes).toBe(1);
  });

  it('shares one park among concurrent waits of a thread, and passes rejections through', async () => {
    const sched = fakeSched();
    const track = settleWakes(sched as never, neverCompletes);
    const a = track(new Promise<number>((r) => setTimeout(() => r(1), 10)));
    const b = track(new Promise<number>((_r, j) => setTimeout(() => j(new Error('reset')), 30)));
    await expect(a).resolves.toBe(1);
    await expect(b).rejects.toThrow('reset');
  });

  it('leaves promises alone outside a thread', async () => {
    const track = settleWakes({ current: () => null, wake: () => false, waitUntil: () => Promise.resolve() } as never, (p) => p);
    await expect(track(Promise.resolve(3))).resolves.toBe(3);
  });
});

describe('tracked', () => {
  it('routes the promises of sockets and pollers the stack hands out through track', async () => {
    const nc = await import('@osv-ts/netchannel');
    const clock = new nc.VirtualClock();
    const raw = new nc.NetStack({ clock, timers: clock, entropy: nc.seededEntropy(1) });
    let tracks = 0;
    const track = <T>(p: Promise<T>): Promise<T> => {
      tracks++;
      return p;
    };
    const stack = tracked(raw, track, nc);
    const listener = stack.tcpSocket();
    listener.bind('127.0.0.1', 9000);
    listener.listen(4);
    const poller = stack.poller<string>();
    poller.add(listener, nc.POLLIN, 'listener');
    const waited = poller.wait(8, 1000);
    expect(tracks).toBe(1); // the poller is wrapped: its wait was tracked
    const client = stack.tcpSocket();
    const connected = client.connect('127.0.0.1', 9000);
    expect(tracks).toBe(2);
    let up = false;
    void connected.then(() => (up = true));
    for (let i = 0; i < 100 && !up; i++) {
      clock.advance(1);
      await new Promise((r) => setImmediate(r));
    }
    await connected;
    const events = await waited;
    expect(events.map((e) => e.data)).toEqual(['listener']);
    expect(events[0]!.socket).toBe(listener); // the wrapper the program registered, not the raw socket
    const accepted = listener.tryAccept();
    expect(typeof accepted).toBe('object');
    const before = tracks;
    void (accepted as { read(b: Uint8Array): Promise<number> }).read(new Uint8Array(4));
    expect(tracks).toBe(before + 1); // a socket from tryAccept is wrapped too
  });
});
