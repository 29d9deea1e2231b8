/**
 * The Internet checksum (RFC 1071) on the device side of virtio-net:
 * completing the checksum a guest left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM
 * with csum_start and csum_offset, virtio-v1.2 §5.1.6.2) before a frame
 * reaches the backend, and checking metadata a hostile guest controls.
 */

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
/** A Uint32Array over the last buffer summed: the device sums its own transmit buffer again and again. */
let wordsOf: ArrayBufferLike | null = null;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

/**
 * The one's complement sum of `b[off, end)` as 16-bit big-endian words
 * (an odd last byte padded with zero), added to `acc` and folded to 16 bits.
 * Not complemented. Long spans at an even address are summed four bytes at a
 * time in the machine's byte order and swapped back at the end, which RFC
 * 1071 §2(B) shows gives the same sum (this runs on the hv's event loop for
 * every NEEDS_CSUM frame, so it must not be a byte loop).
 */
export function onesSum(b: Uint8Array, off: number, end: number, acc = 0): number {
  let s = acc;
  let i = off;
  if (end - i >= 64 && ((b.byteOffset + i) & 1) === 0) {
    if (((b.byteOffset + i) & 3) === 2) {
      s += (b[i]! << 8) | b[i + 1]!;
      i += 2;
    }
    if (wordsOf !== b.buffer) {
      wordsOf = b.buffer;
      words = new Uint32Array(b.buffer, 0, b.buffer.byteLength >>> 2);
    }
    const first = (b.byteOffset + i) >>> 2;
    const last = first + ((end - i) >>> 2);
    let ws = 0;
    let k = first;
    for (; k + 4 <= last; k += 4) ws += words[k]! + words[k + 1]! + words[k + 2]! + words[k + 3]!;
    for (; k < last; k++) ws += words[k]!;
    let f = fold(ws);
    if (LITTLE_ENDIAN) f = ((f & 0xff) << 8) | (f >>> 8);
    s += f;
    i += (last - first) << 2;
  }
  for (; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < end) s += b[i]! << 8;
  return fold(s);
}

/** The checksum over `b[off, end)` as it goes on the wire (complemented sum). */
export function internetChecksum(b: Uint8Array, off: number, end: number, acc = 0): number {
  return ~onesSum(b, off, end, acc) & 0xffff;
}

/**
 * Completes a NEEDS_CSUM frame in place: the checksum of `frame[csumStart,
 * length)` stored big-endian at `csumStart + csumOffset` (a computed zero is
 * stored as 0xffff, equal in one's complement and required by UDP, RFC 768).
 * Returns null, or what is wrong with the metadata (nothing is written then):
 * both offsets come from the guest and must put the 2-byte field inside the
 * frame, after the Ethernet header.
 */
export function completeChecksum(frame: Uint8Array, length: number, csumStart: number, csumOffset: number, minStart: number): string | null {
  if (csumStart < minStart || csumStart >= length) return `csum_start ${csumStart} is outside ${minStart}..${length - 1}`;
  if (csumStart + csumOffset + 2 > length) return `csum_start ${csumStart} + csum_offset ${csumOffset} puts the checksum past the ${length}-byte frame`;
  const at = csumStart + csumOffset;
  const sum = internetChecksum(frame, csumStart, length);
  const v = sum === 0 ? 0xffff : sum;
  frame[at] = v >>> 8;
  frame[at + 1] = v & 0xff;
  return null;
}
