/**
 * TCP sequence-number arithmetic (RFC 9293 §3.4): numbers live modulo 2^32 and
 * compare by the sign of their 32-bit difference, valid while they lie within
 * 2^31 of each other. Never compare sequence numbers with plain < or >.
 */

/** a < b modulo 2^32. */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** a ≤ b modulo 2^32. */
export function seqLeq(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** a > b modulo 2^32. */
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** a ≥ b modulo 2^32. */
export function seqGeq(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** The signed distance a − b, in (−2^31, 2^31). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** a + n as an unsigned 32-bit sequence number. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** The later of a and b. */
export function seqMax(a: number, b: number): number {
  return seqGt(a, b) ? a : b;
}

/** The earlier of a and b. */
export function seqMin(a: number, b: number): number {
  return seqLt(a, b) ? a : b;
}
