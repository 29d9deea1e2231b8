import { describe, expect, it } from 'vitest';
import { HvError } from '../errors.js';
import type { NetBackend, NetBackendEvents } from './netBackend.js';
import { ImpairedNetBackend, impairs, parseImpairmentOption, type NetImpairment } from './impairedNetBackend.js';

/** A backend that records what it sends and lets the test deliver frames. */
class FakeBackend implements NetBackend {
  readonly description = 'fake';
  readonly linkUp = true;
  readonly congested = false;
  readonly sent: number[][] = [];
  events: NetBackendEvents | null = null;
  attach(events: NetBackendEvents): void {
    this.events = events;
  }
  send(frame: Uint8Array, offset: number, length: number): boolean {
    this.sent.push([...frame.subarray(offset, offset + length)]);
    return true;
  }
  flush(): void {}
  pause(): void {}
  resume(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const frame = (n: number): Uint8Array => Uint8Array.from({ length: 60 }, (_, i) => (i < 14 ? 0xff : n));

function parse(...parts: string[]): NetImpairment {
  const out: Record<string, number> = {};
  for (const p of parts) parseImpairmentOption(`user,${parts.join(',')}`, p, out);
  return out as NetImpairment;
}

describe('--net impairment suboptions', () => {
  it('reads probabilities, percentages, milliseconds and rates as netem users write them', () => {
    expect(parse('loss=5%', 'dup=0.01', 'reorder=2.5%', 'delay=20ms', 'jitter=3', 'rate=10mbit', 'seed=7')).toEqual({
      loss: 0.05, duplicate: 0.01, reorder: 0.025, delayMs: 20, jitterMs: 3, rateBitsPerSec: 10e6, seed: 7,
    });
    expect(parse('rate=1g').rateBitsPerSec).toBe(1e9);
    expect(impairs(parse('loss=0'))).toBe(false);
    expect(impairs(parse('delay=1'))).toBe(true);
  });

  it('names the bad value', () => {
    for (const [part, what] of [['loss=2', /probability/], ['loss=-1', /probability/], ['dup=x', /probability/], ['delay=1s', /milliseconds/], ['delay=70000', /milliseconds/], ['rate=10', /at least 1000/], ['rate=fast', /bits per second/], ['seed=1.5', /whole number/]] as const) {
      expect(() => parse(part), part).toThrow(HvError);
      expect(() => parse(part), part).toThrow(what);
    }
  });
});

describe('ImpairedNetBackend', () => {
  it('passes frames both ways unchanged when nothing is impaired, and drops them all at loss=1', () => {
    const inner = new FakeBackend();
    const got: number[] = [];
    const b = new ImpairedNetBackend(inner, {}, 1500);
    b.attach({ frame: (d, o) => got.push(d[o + 20]!), link: () => {}, writable: () => {} });
    expect(b.send(frame(1), 0, 60)).toBe(true);
    inner.events!.frame(frame(2), 0, 60);
    expect(inner.sent.map((f) => f[20])).toEqual([1]);
    expect(got).toEqual([2]);

    const lossy = new FakeBackend();
    const seen: number[] = [];
    const l = new ImpairedNetBackend(lossy, { loss: 1 }, 1500);
    l.attach({ frame: (d, o) => seen.push(d[o + 20]!), link: () => {}, writable: () => {} });
    for (let i = 0; i < 10; i++) {
      l.send(frame(i), 0, 60);
      lossy.events!.frame(frame(i), 0, 60);
    }
    expect(lossy.sent).toEqual([]);
    expect(seen).toEqual([]);
    expect(l.shim!.stats.lost).toBe(20);
  });

  it('delays frames by the given time, and the same seed loses the same frames', async () => {
    const inner = new FakeBackend();
    const b = new ImpairedNetBackend(inner, { delayMs: 30 }, 1500);
    b.attach({ frame: () => {}, link: () => {}, writable: () => {} });
    b.send(frame(9), 0, 60);
    expect(inner.sent).toEqual([]); // held, not passed on at once
    expect(b.shim!.held).toBe(1);
    while (inner.sent.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(inner.sent.map((f) => f[20])).toEqual([9]);
    const run = (seed: number): number[] => {
      const x = new FakeBackend();
      const s = new ImpairedNetBackend(x, { loss: 0.5, seed }, 1500);
      s.attach({ frame: () => {}, link: () => {}, writable: () => {} });
      for (let i = 0; i < 64; i++) s.send(frame(i), 0, 60);
      return x.sent.map((f) => f[20]!);
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });
});
