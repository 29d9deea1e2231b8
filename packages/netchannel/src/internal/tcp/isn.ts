/**
 * Initial sequence numbers per RFC 6528 §3: ISN = M + F(4-tuple, secret), M a
 * timer ticking every 4 µs, F a keyed hash (HalfSipHash-2-4 shaped, 32-bit),
 * so an off-path attacker can neither predict ISNs nor tell two flows' apart.
 */

/** A keyed 4-tuple hash for ISNs (and anything else that must resist guessing). */
export class IsnGenerator {
  private readonly k0: number;
  private readonly k1: number;

  /** `k0`, `k1`: the secret, 64 random bits drawn once per stack. */
  constructor(k0: number, k1: number) {
    this.k0 = k0 | 0;
    this.k1 = k1 | 0;
  }

  /** The ISN for a connection at time `nowMs`. */
  isn(laddr: number, lport: number, faddr: number, fport: number, nowMs: number): number {
    const m = Math.floor(nowMs * 250) >>> 0; // 4 µs ticks (RFC 6528 §3)
    return (m + this.hash(laddr, faddr, (lport << 16) | fport)) >>> 0;
  }

  /** Keyed hash of three 32-bit words. */
  hash(a: number, b: number, c: number): number {
    let v0 = this.k0;
    let v1 = this.k1;
    let v2 = 0x6c796765 ^ this.k0;
    let v3 = 0x74656462 ^ this.k1;
    const round = (): void => {
      v0 = (v0 + v1) | 0;
      v1 = rotl(v1, 5) ^ v0;
      v0 = rotl(v0, 16);
      v2 = (v2 + v3) | 0;
      v3 = rotl(v3, 8) ^ v2;
      v0 = (v0 + v3) | 0;
      v3 = rotl(v3, 7) ^ v0;
      v2 = (v2 + v1) | 0;
      v1 = rotl(v1, 13) ^ v2;
      v2 = rotl(v2, 16);
    };
    for (const w of [a, b, c, 12 << 24]) {
      v3 ^= w;
      round();
      round();
      v0 ^= w;
    }
    v2 ^= 0xff;
    round();
    round();
    round();
    round();
    return (v1 ^ v3) >>> 0;
  }
}

function rotl(v: number, k: number): number {
  return (v << k) | (v >>> (32 - k));
}
