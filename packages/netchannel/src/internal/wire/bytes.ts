/**
 * Big-endian (network order, RFC 1700 "Data Notations") field access on a byte
 * array. Tiny and monomorphic so V8 inlines them on the packet paths. Callers
 * guarantee the offsets are in bounds (every parser checks lengths first).
 */

/** Reads an unsigned 16-bit network-order value at `o`. */
export function get16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** Reads an unsigned 32-bit network-order value at `o` (0 ≤ result < 2^32). */
export function get32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Writes the low 16 bits of `v` in network order at `o`. */
export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

/** Writes the low 32 bits of `v` in network order at `o`. */
export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** Copies `len` bytes between two arrays; uses copyWithin when they share storage (no allocation). */
export function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void {
  if (dst === src) {
    dst.copyWithin(dstOff, srcOff, srcOff + len);
  } else if (len <= 32) {
    for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i]!;
  } else {
    // API boundary only (application buffers live outside the pool): one view.
    dst.set(src.subarray(srcOff, srcOff + len), dstOff);
  }
}
