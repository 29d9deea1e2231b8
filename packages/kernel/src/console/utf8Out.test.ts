import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeUtf8Into } from './utf8Out.js';

function encodeAll(text: string, chunk: number): Buffer {
  const out: Buffer[] = [];
  const buf = new Uint8Array(chunk);
  let from = 0;
  while (from < text.length) {
    const { read, written } = encodeUtf8Into(text, from, buf);
    if (read === 0) throw new Error('no progress');
    out.push(Buffer.from(buf.subarray(0, written)));
    from += read;
  }
  return Buffer.concat(out);
}

describe('encodeUtf8Into', () => {
  it('encodes like Buffer.from(text, "utf8") in pieces of any size, never splitting a character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.integer({ min: 4, max: 64 }), (text, chunk) => {
        expect(encodeAll(text, chunk).equals(Buffer.from(text, 'utf8'))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('turns lone surrogates into U+FFFD as Node does', () => {
    const text = 'a\ud800b\udc00c';
    expect(encodeAll(text, 16).equals(Buffer.from(text, 'utf8'))).toBe(true);
  });
});
