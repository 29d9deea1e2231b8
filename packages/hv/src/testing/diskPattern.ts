/**
 * A deterministic disk pattern that the blockcheck guest app writes and
 * verifies and that host-side tests check in the disk file: every 32-bit
 * little-endian word at byte offset o holds mix(o / 4, seed). No imports, so
 * the guest app bundles it as is.
 */

/** The word at byte offset `offset` (a multiple of 4) for `seed`. */
export function patternWord(offset: number, seed: number): number {
  let x = (Math.floor(offset / 4) ^ Math.imul(seed, 0x9e3779b1)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Fills `buf` (length a multiple of 4) with the pattern of disk bytes starting at `offset`. */
export function fillPattern(buf: Uint8Array, offset: number, seed: number): void {
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = patternWord(offset + i * 4, seed);
}

/** The byte offset in `buf` of the first word that differs from the pattern at `offset`, or -1. */
export function checkPattern(buf: Uint8Array, offset: number, seed: number): number {
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
  for (let i = 0; i < words.length; i++) if (words[i] !== patternWord(offset + i * 4, seed)) return i * 4;
  return -1;
}
