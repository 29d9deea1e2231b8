/**
 * Field-level encoding shared by the image reader and writer: NUL-padded ASCII
 * text, 64-bit integers as two 32-bit halves, SHA-256 digests. Host code:
 * hashing uses node:crypto.
 */

import { createHash } from 'node:crypto';
import type { Field } from '@osv-ts/virtio';
import { IMAGE_HEADER_LAYOUT } from './imageLayout.js';

const TWO_32 = 2 ** 32;
/** Largest high half that keeps a u64 below 2^53. */
const MAX_SAFE_HI = 2 ** 21 - 1;

/** SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

/** Lower-case hex of `bytes` (for digests in reports). */
export function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** True when `a` and `b` hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `text` fits an ASCII field of `max` bytes: 1..max printable characters (0x20..0x7e). */
export function isFieldText(text: string, max: number, allowSpace = true): boolean {
  if (text.length === 0 || text.length > max) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7e || c < (allowSpace ? 0x20 : 0x21)) return false;
  }
  return true;
}

/** Writes `text` (already checked with isFieldText) into `field` at `base`, NUL-padded. */
export function writeText(bytes: Uint8Array, base: number, field: Field, text: string): void {
  for (let i = 0; i < field.size; i++) bytes[base + field.offset + i] = i < text.length ? text.charCodeAt(i) : 0;
}

/**
 * Reads a NUL-padded ASCII field. Returns undefined when the field is empty,
 * holds a byte outside printable ASCII, or has anything but NULs after the
 * first NUL.
 */
export function readText(bytes: Uint8Array, base: number, field: Field, allowSpace = true): string | undefined {
  let text = '';
  let ended = false;
  for (let i = 0; i < field.size; i++) {
    const c = bytes[base + field.offset + i] ?? 0;
    if (ended) {
      if (c !== 0) return undefined;
    } else if (c === 0) {
      ended = true;
    } else if (c > 0x7e || c < (allowSpace ? 0x20 : 0x21)) {
      return undefined;
    } else {
      text += String.fromCharCode(c);
    }
  }
  return text.length > 0 ? text : undefined;
}

/** Writes a non-negative safe integer as a little-endian u64 at `offset` (low half first). */
export function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value % TWO_32, true);
  view.setUint32(offset + 4, Math.floor(value / TWO_32), true);
}

/** Reads a little-endian u64 at `offset`; undefined when it is 2^53 or more. */
export function readU64(view: DataView, offset: number): number | undefined {
  const lo = view.getUint32(offset, true);
  const hi = view.getUint32(offset + 4, true);
  return hi > MAX_SAFE_HI ? undefined : hi * TWO_32 + lo;
}

/**
 * The header checksum: SHA-256 of bytes [0, headerLength) with the
 * headerSha256 field zeroed. `bytes` must hold at least headerLength bytes.
 */
export function headerDigest(bytes: Uint8Array, headerLength: number): Uint8Array {
  const copy = bytes.slice(0, headerLength);
  const f = IMAGE_HEADER_LAYOUT.headerSha256;
  copy.fill(0, f.offset, f.offset + f.size);
  return sha256(copy);
}
