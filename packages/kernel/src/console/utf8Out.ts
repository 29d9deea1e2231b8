/**
 * Encoding console text into device buffers: UTF-8 written straight into guest
 * memory, in pieces that fit, with no intermediate copy. (The guest realm has
 * no TextEncoder.)
 */

/** How much of the string was consumed and how many bytes were written. */
export interface EncodeResult {
  read: number;
  written: number;
}

const result: EncodeResult = { read: 0, written: 0 };

/**
 * Encodes `text` from UTF-16 index `from` into `out` until the text or the
 * buffer runs out; never splits a character. Lone surrogates become U+FFFD.
 * Returns a shared result object (copy the fields before the next call).
 */
export function encodeUtf8Into(text: string, from: number, out: Uint8Array): EncodeResult {
  let i = from;
  let o = 0;
  const n = text.length;
  const cap = out.length;
  while (i < n) {
    let c = text.charCodeAt(i);
    let units = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        units = 2;
      } else c = 0xfffd;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) {
      if (o + 1 > cap) break;
      out[o++] = c;
    } else if (c < 0x800) {
      if (o + 2 > cap) break;
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      if (o + 3 > cap) break;
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 63);
      out[o++] = 0x80 | (c & 63);
    } else {
      if (o + 4 > cap) break;
      out[o++] = 0xf0 | (c >> 18);
      out[o++] = 0x80 | ((c >> 12) & 63);
      out[o++] = 0x80 | ((c >> 6) & 63);
      out[o++] = 0x80 | (c & 63);
    }
    i += units;
  }
  result.read = i - from;
  result.written = o;
  return result;
}
