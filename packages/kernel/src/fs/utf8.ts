/**
 * UTF-8 for guest code, which has no TextEncoder or TextDecoder (the vCPU's
 * realm holds only ECMAScript built-ins). Behaves as the WHATWG Encoding
 * standard's UTF-8 encoder and decoder do: encoding turns a lone surrogate into
 * U+FFFD; decoding replaces each maximal ill-formed subsequence with one U+FFFD.
 */

const REPLACEMENT = 0xfffd;
/** UTF-16 code units gathered before each String.fromCharCode call (stays under engine argument limits). */
const CHUNK = 4096;

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/**
 * Number of bytes `text` takes in UTF-8 (a lone surrogate counts as U+FFFD,
 * 3 bytes). Use it to size a buffer before encodeUtf8Into.
 */
export function utf8ByteLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (isHighSurrogate(c) && isLowSurrogate(text.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Encodes `text` as UTF-8 into `dest` from byte `offset` and returns the number
 * of bytes written. `dest` must have utf8ByteLength(text) bytes free from
 * `offset`.
 *
 * @throws RangeError when `dest` is too small (nothing past its end is written).
 */
export function encodeUtf8Into(text: string, dest: Uint8Array, offset = 0): number {
  if (offset < 0 || offset + utf8ByteLength(text) > dest.length) {
    throw new RangeError(`encodeUtf8Into: ${utf8ByteLength(text)} bytes do not fit at offset ${offset} of ${dest.length}`);
  }
  let o = offset;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      dest[o++] = c;
      continue;
    }
    if (c < 0x800) {
      dest[o++] = 0xc0 | (c >> 6);
      dest[o++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (isHighSurrogate(c) && isLowSurrogate(text.charCodeAt(i + 1))) {
      c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      dest[o++] = 0xf0 | (c >> 18);
      dest[o++] = 0x80 | ((c >> 12) & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = REPLACEMENT;
      dest[o++] = 0xe0 | (c >> 12);
    }
    dest[o++] = 0x80 | ((c >> 6) & 0x3f);
    dest[o++] = 0x80 | (c & 0x3f);
  }
  return o - offset;
}

/** Encodes `text` as UTF-8 in a new array (lone surrogates become U+FFFD). */
export function encodeUtf8(text: string): Uint8Array {
  const out = new Uint8Array(utf8ByteLength(text));
  encodeUtf8Into(text, out, 0);
  return out;
}

/** True when `text` has no lone surrogate, so it round-trips through UTF-8 unchanged. */
export function isWellFormedText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isHighSurrogate(c) && isLowSurrogate(text.charCodeAt(i + 1))) i++;
    else if (c >= 0xd800 && c <= 0xdfff) return false;
  }
  return true;
}

/**
 * Walks `bytes` as UTF-8 and hands each code point (or REPLACEMENT for each
 * maximal ill-formed subsequence, per the WHATWG decoder) to `emit`. Returns
 * the number of replacements made.
 */
function decodeWith(bytes: Uint8Array, emit: (codePoint: number) => void): number {
  let needed = 0; // continuation bytes the current sequence still needs
  let seen = 0;
  let cp = 0;
  let lower = 0x80; // bounds of the next continuation byte
  let upper = 0xbf;
  let bad = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (needed === 0) {
      if (b < 0x80) {
        emit(b);
      } else if (b >= 0xc2 && b <= 0xdf) {
        needed = 1;
        cp = b & 0x1f;
      } else if (b >= 0xe0 && b <= 0xef) {
        needed = 2;
        cp = b & 0x0f;
        if (b === 0xe0) lower = 0xa0; // no overlong 3-byte forms
        if (b === 0xed) upper = 0x9f; // no surrogates
      } else if (b >= 0xf0 && b <= 0xf4) {
        needed = 3;
        cp = b & 0x07;
        if (b === 0xf0) lower = 0x90; // no overlong 4-byte forms
        if (b === 0xf4) upper = 0x8f; // nothing above U+10FFFF
      } else {
        emit(REPLACEMENT);
        bad++;
      }
      continue;
    }
    if (b < lower || b > upper) {
      needed = seen = cp = 0;
      lower = 0x80;
      upper = 0xbf;
      emit(REPLACEMENT);
      bad++;
      i--; // the byte starts over as the first of a sequence
      continue;
    }
    lower = 0x80;
    upper = 0xbf;
    cp = (cp << 6) | (b & 0x3f);
    if (++seen === needed) {
      emit(cp);
      needed = seen = cp = 0;
    }
  }
  if (needed !== 0) {
    emit(REPLACEMENT);
    bad++;
  }
  return bad;
}

/**
 * Decodes UTF-8 to a string, replacing ill-formed sequences with U+FFFD as
 * TextDecoder does (a leading byte-order mark is kept as U+FEFF, as with
 * `ignoreBOM: true`). Never throws.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  let ascii = 0;
  while (ascii < bytes.length && (bytes[ascii] as number) < 0x80) ascii++;
  let out = '';
  const units = new Uint16Array(CHUNK + 1);
  let n = 0;
  const flush = (): void => {
    out += String.fromCharCode.apply(null, units.subarray(0, n) as unknown as number[]);
    n = 0;
  };
  for (let i = 0; i < ascii; i += CHUNK) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(ascii, i + CHUNK)) as unknown as number[]);
  }
  decodeWith(bytes.subarray(ascii), (c) => {
    if (n >= CHUNK) flush();
    if (c < 0x10000) units[n++] = c;
    else {
      units[n++] = 0xd800 + ((c - 0x10000) >> 10);
      units[n++] = 0xdc00 + ((c - 0x10000) & 0x3ff);
    }
  });
  flush();
  return out;
}

/** True when `bytes` is well-formed UTF-8 (decodeUtf8 would make no replacement). */
export function isUtf8(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i] as number) >= 0x80) return decodeWith(bytes.subarray(i), () => {}) === 0;
  }
  return true;
}
