/**
 * Randomness for initial sequence numbers (RFC 6528), ephemeral ports
 * (RFC 6056), DNS query ids and DHCP transaction ids. The kernel supplies the
 * virtio entropy device; tests and simulations use seededEntropy.
 */

/** A source of uniformly distributed 32-bit values. */
export interface Entropy {
  /** Returns a uniformly random integer in [0, 2^32). */
  random32(): number;
}

/**
 * A deterministic generator (xoshiro128**) for tests and simulations. Not
 * secret: an observer can predict it, so never use it where sequence numbers
 * must resist off-path attackers.
 */
export function seededEntropy(seed: number): Entropy {
  // splitmix32 expands the seed into the four state words.
  let x = seed >>> 0;
  const next = (): number => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = next();
  let b = next();
  let c = next();
  let d = next();
  return {
    random32(): number {
      const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = rotl(d, 11);
      return r;
    },
  };
}

function rotl(v: number, k: number): number {
  return (v << k) | (v >>> (32 - k));
}
