/**
 * What a rofs entry name may be — one rule for the builder, which checks
 * strings, and the mount code, which checks bytes from a possibly hostile
 * volume: 1..ROFS_NAME_MAX bytes of well-formed UTF-8, without '/' or NUL, and
 * neither '.' nor '..'.
 */

import { ROFS_NAME_MAX } from './rofsLayout.js';
import { isUtf8 } from './utf8.js';

const SLASH = 0x2f;
const DOT = 0x2e;

/** Returns why `name` (UTF-8 bytes) is not a valid entry name, or undefined if it is. */
export function nameProblem(name: Uint8Array): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > ROFS_NAME_MAX) return `is ${name.length} bytes long (at most ${ROFS_NAME_MAX})`;
  if (name[0] === DOT && (name.length === 1 || (name.length === 2 && name[1] === DOT))) return 'is . or ..';
  for (const b of name) if (b === SLASH || b === 0) return 'holds a / or NUL byte';
  return isUtf8(name) ? undefined : 'is not valid UTF-8';
}

/** Orders two names by their bytes (the order of entries within a directory). */
export function compareNames(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
