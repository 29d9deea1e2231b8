/**
 * The kernel random generator: deterministic for a given seed history (so
 * its output is a function of the device's entropy and nothing else), never
 * repeating its output across calls, moved by every reseed, and roughly
 * uniform.
 */
import { describe, expect, it } from 'vitest';
import { RandomGenerator } from './randomGenerator.js';

const seeded = (bytes: number[]): RandomGenerator => {
  const g = new RandomGenerator();
  g.reseed(Uint8Array.from(bytes), 'virtio-rng');
  return g;
};

describe('RandomGenerator (ChaCha20, fast key erasure)', () => {
  it('gives the same stream for the same seeds and different ones for different seeds', () => {
    const a = seeded([1, 2, 3]);
    const b = seeded([1, 2, 3]);
    const c = seeded([1, 2, 4]);
    const out = (g: RandomGenerator): string => {
      const x = new Uint8Array(100);
      g.fill(x);
      return Buffer.from(x).toString('hex');
    };
    expect(out(a)).toBe(out(b));
    expect(out(a)).not.toBe(out(c));
  });

  it('never repeats a block of output across calls, and a reseed moves the stream', () => {
    const g = seeded([9]);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const x = new Uint8Array(16);
      g.fill(x);
      seen.add(Buffer.from(x).toString('hex'));
    }
    expect(seen.size).toBe(2000);
    const h = seeded([9]);
    h.fill(new Uint8Array(16));
    h.reseed(Uint8Array.of(1), 'virtio-rng');
    const g2 = seeded([9]);
    g2.fill(new Uint8Array(16));
    const x = new Uint8Array(16);
    const y = new Uint8Array(16);
    h.fill(x);
    g2.fill(y);
    expect(Buffer.from(x).equals(Buffer.from(y))).toBe(false);
  });

  it('fills lengths that are not whole blocks, and random32 is roughly uniform', () => {
    const g = seeded([5, 5, 5]);
    for (const n of [0, 1, 63, 64, 65, 1000]) {
      const x = new Uint8Array(n + 2);
      g.fill(x.subarray(1, n + 1));
      expect(x[0]).toBe(0);
      expect(x[n + 1]).toBe(0);
    }
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) buckets[g.random32() >>> 28]!++;
    for (const b of buckets) expect(b).toBeGreaterThan(800);
  });

  it('records its source: unseeded, then jitter, and virtio-rng once it had device bytes', () => {
    const g = new RandomGenerator();
    expect(g.source).toBe('unseeded');
    g.reseed(Uint8Array.of(1), 'timer-jitter');
    expect(g.source).toBe('timer-jitter');
    g.reseed(Uint8Array.of(2), 'virtio-rng');
    g.reseed(Uint8Array.of(3), 'timer-jitter');
    expect(g.source).toBe('virtio-rng');
  });
});
