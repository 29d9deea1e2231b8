/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's
 * complement sum of 16-bit words. Used by IPv4 (RFC 791 §3.1), ICMP (RFC 792),
 * UDP (RFC 768) and TCP (RFC 9293 §3.1).
 *
 * Long spans are summed four bytes at a time through a Uint32Array view in the
 * machine's byte order and byte-swapped at the end, which RFC 1071 §2(B)
 * ("byte order independence", "parallel summation") shows is the same sum.
 * Sums are carried in doubles, exact far beyond any packet, and folded at the end.
 */

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

// A few stacks (each with its own packet pool) may share a process: keep a
// view per recent buffer so alternating between pools allocates nothing.
const cachedBuffers: (ArrayBufferLike | null)[] = [null, null, null, null];
const cachedViews: Uint32Array[] = [new Uint32Array(0), new Uint32Array(0), new Uint32Array(0), new Uint32Array(0)];
let nextSlot = 0;

/** A Uint32Array over the whole of `buffer`, cached for the last few buffers seen (packet pools). */
function words(buffer: ArrayBufferLike): Uint32Array {
  for (let i = 0; i < 4; i++) if (cachedBuffers[i] === buffer) return cachedViews[i]!;
  const v = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  cachedBuffers[nextSlot] = buffer;
  cachedViews[nextSlot] = v;
  nextSlot = (nextSlot + 1) & 3;
  return v;
}

/** Folds a non-negative sum to 16 bits with end-around carry. */
function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

/**
 * Adds the bytes `[off, off+len)` to the running (unfolded) sum `acc`, in
 * network byte order. An odd trailing byte is padded with zero on the right,
 * as RFC 1071 §4.1 does, so spans must start at an even position of the
 * checksummed region (callers sum headers and payloads that do).
 */
export function sumBytes(b: Uint8Array, off: number, len: number, acc: number): number {
  let s = acc;
  let i = off;
  let n = len;
  if (n >= 64 && ((b.byteOffset + i) & 3) === 2) {
    // Take one 16-bit word to reach a 4-byte boundary (the span start stays even).
    s += (b[i]! << 8) | b[i + 1]!;
    i += 2;
    n -= 2;
  }
  const abs = b.byteOffset + i;
  if (n >= 64 && (abs & 3) === 0) {
    const w = words(b.buffer);
    const first = abs >>> 2;
    const last = first + (n >>> 2);
    let ws = 0;
    let k = first;
    for (; k + 4 <= last; k += 4) ws += w[k]! + w[k + 1]! + w[k + 2]! + w[k + 3]!;
    for (; k < last; k++) ws += w[k]!;
    let f = fold(ws);
    if (LITTLE_ENDIAN) f = ((f & 0xff) << 8) | (f >>> 8);
    s += f;
    i += n & ~3;
    n &= 3;
  }
  const end = i + (n & ~1);
  for (; i < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (n & 1) s += b[end]! << 8;
  return s;
}

/** Folds a running sum to 16 bits and complements it: the value that goes on the wire. */
export function finishChecksum(acc: number): number {
  return ~fold(acc) & 0xffff;
}

/**
 * The pseudo-header sum for TCP and UDP over IPv4 (RFC 9293 §3.1, RFC 768):
 * source, destination, zero+protocol, and the transport length.
 */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/** Checksum of a byte span: `finishChecksum(sumBytes(...))`. A verified span yields 0. */
export function checksum(b: Uint8Array, off: number, len: number, acc = 0): number {
  return finishChecksum(sumBytes(b, off, len, acc));
}
