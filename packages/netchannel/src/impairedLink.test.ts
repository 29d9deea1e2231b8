/// <reference types="node" />
import { describe, expect, it } from 'vitest';
import { createLinkPair } from './linkPair.js';
import { impairLink } from './impairedLink.js';
import { VirtualClock } from './virtualClock.js';

function rig(outbound: Parameters<typeof impairLink>[1]['outbound'], seed = 1) {
  const clock = new VirtualClock();
  const [x, y] = createLinkPair();
  const shim = impairLink(x, { clock, timers: clock, seed, ...(outbound ? { outbound } : {}) });
  const got: { t: number; id: number }[] = [];
  y.setReceiver({ receiveFrame: (f, o) => got.push({ t: clock.now(), id: (f[o]! << 8) | f[o + 1]! }) });
  const send = (id: number, len = 100) => {
    const f = new Uint8Array(len);
    f[0] = id >>> 8;
    f[1] = id & 255;
    shim.transmit(f, 0, len);
  };
  return { clock, shim, got, send };
}

describe('the impairment shim', () => {
  it('loses and duplicates at the configured rates', () => {
    const { shim, got, send } = rig({ loss: 0.1, duplicate: 0.2 });
    for (let i = 0; i < 10_000; i++) send(i);
    expect(shim.stats.lost / 10_000).toBeGreaterThan(0.08);
    expect(shim.stats.lost / 10_000).toBeLessThan(0.12);
    expect(shim.stats.duplicated / 9_000).toBeGreaterThan(0.17);
    expect(got.length).toBe(shim.stats.delivered);
  });

  it('delays, and reorders by holding frames back', () => {
    const { clock, shim, got, send } = rig({ delayMs: 10, reorder: 0.3 });
    for (let i = 0; i < 1000; i++) send(i);
    clock.advance(9);
    expect(got.length).toBe(0);
    clock.advance(100);
    expect(got.length).toBe(1000);
    const inversions = got.filter((g, i) => i > 0 && g.id < got[i - 1]!.id).length;
    expect(inversions).toBeGreaterThan(0);
    expect(shim.stats.reordered).toBeGreaterThan(200);
  });

  it('rate-limits with a bounded queue', () => {
    const { clock, shim, got, send } = rig({ rateBitsPerSec: 8_000_000, queueBytes: 50_000 }); // 1 MB/s
    for (let i = 0; i < 1000; i++) send(i, 1000);
    clock.advance(10_000);
    expect(shim.stats.overflowed).toBeGreaterThan(900);
    const last = got[got.length - 1]!;
    expect(last.t).toBeCloseTo(got.length, 0); // one 1000-byte frame per ms
  });

  it('blacks the link out for a while', () => {
    const { clock, shim, got, send } = rig({});
    shim.blackout(2000);
    send(1);
    clock.advance(1999);
    send(2);
    clock.advance(1);
    send(3);
    expect(got.map((g) => g.id)).toEqual([3]);
    expect(shim.stats.blackedOut).toBe(2);
  });

  it('repeats exactly for a seed', () => {
    const run = () => {
      const { clock, got, send } = rig({ loss: 0.3, jitterMs: 5, reorder: 0.2, duplicate: 0.1 }, 42);
      for (let i = 0; i < 500; i++) send(i);
      clock.advance(100);
      return got.map((g) => `${g.id}@${g.t}`).join(',');
    };
    expect(run()).toBe(run());
  });

  it('rejects probabilities outside [0, 1]', () => {
    expect(() => rig({ loss: 1.5 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
