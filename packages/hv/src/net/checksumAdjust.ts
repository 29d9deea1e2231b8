/**
 * Incremental update of an Internet checksum (RFC 1624 §3, equation 3:
 * HC' = ~(~HC + ~m + m')) when a 16- or 32-bit field covered by it changes,
 * so rewriting an address or port costs a few additions instead of a pass
 * over the packet. A checksum that was wrong stays wrong by the same amount,
 * so the receiver still rejects a corrupted packet.
 */

/** The checksum `sum` after a 16-bit word covered by it changes from `old` to `neu`. */
export function adjust16(sum: number, old: number, neu: number): number {
  let s = (~sum & 0xffff) + (~old & 0xffff) + (neu & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** The checksum `sum` after a 32-bit field (an IPv4 address) changes from `old` to `neu`. */
export function adjust32(sum: number, old: number, neu: number): number {
  return adjust16(adjust16(sum, old >>> 16, neu >>> 16), old & 0xffff, neu & 0xffff);
}

/** The Internet checksum (RFC 1071) of `b[off, off+len)`: the ones' complement of the ones' complement sum. */
export function internetChecksum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if ((len & 1) !== 0) s += b[off + len - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
