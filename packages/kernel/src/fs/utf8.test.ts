import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUtf8, isWellFormedText, utf8ByteLength, decodeUtf8, encodeUtf8, encodeUtf8Into } from './utf8.js';

// The kernel's tsconfig carries no Node types (it is guest code), so the test
// names the two Buffer calls it compares against itself.
interface NodeBuffer {
  from(text: string, encoding: 'utf8'): Uint8Array;
  from(bytes: Uint8Array): { toString(encoding: 'utf8'): string };
}
const Buffer = (globalThis as unknown as { Buffer: NodeBuffer }).Buffer;

const anyText = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }));

describe('encodeUtf8', () => {
  it('matches Node Buffer for any string, lone surrogates included', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const ours = encodeUtf8(s);
        expect(ours).toEqual(new Uint8Array(Buffer.from(s, 'utf8')));
        expect(utf8ByteLength(s)).toBe(ours.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('encodes the boundaries of each length class', () => {
    const cases: [string, number[]][] = [
      ['\u007f', [0x7f]],
      ['\u0080', [0xc2, 0x80]],
      ['\u07ff', [0xdf, 0xbf]],
      ['\u0800', [0xe0, 0xa0, 0x80]],
      ['\uffff', [0xef, 0xbf, 0xbf]],
      ['\u{10000}', [0xf0, 0x90, 0x80, 0x80]],
      ['\u{10ffff}', [0xf4, 0x8f, 0xbf, 0xbf]],
      ['\ud800x', [0xef, 0xbf, 0xbd, 0x78]],
    ];
    for (const [s, bytes] of cases) expect(Array.from(encodeUtf8(s))).toEqual(bytes);
  });

  it('refuses to write past the end of the destination', () => {
    const dest = new Uint8Array(4).fill(9);
    expect(() => encodeUtf8Into('héllo', dest, 0)).toThrow(RangeError);
    expect(Array.from(dest)).toEqual([9, 9, 9, 9]);
    expect(encodeUtf8Into('hé', dest, 1)).toBe(3);
    expect(Array.from(dest)).toEqual([9, 0x68, 0xc3, 0xa9]);
  });
});

describe('decodeUtf8', () => {
  it('matches Node Buffer on arbitrary bytes (WHATWG replacement)', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.array(fc.constantFrom(0x41, 0x80, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90), { maxLength: 24 }).map((a) => new Uint8Array(a)),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        expect(decodeUtf8(b)).toBe(Buffer.from(b).toString('utf8'));
        // Well-formed exactly when decoding and re-encoding gives the bytes back.
        const roundTrip = new Uint8Array(Buffer.from(Buffer.from(b).toString('utf8'), 'utf8'));
        expect(isUtf8(b)).toBe(roundTrip.length === b.length && roundTrip.every((x, i) => x === b[i]));
      }),
      { numRuns: 3000 },
    );
  });

  it('round-trips well-formed text, long enough to cross its chunking', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 3000 }), fc.string({ unit: 'grapheme-ascii', maxLength: 9000 }), (a, b) => {
        const s = b + a + b;
        expect(decodeUtf8(encodeUtf8(s))).toBe(s);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps a byte-order mark, as TextDecoder with ignoreBOM does', () => {
    expect(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))).toBe('\ufeffA');
  });
});

describe('isUtf8 and isWellFormedText', () => {
  it('tells well-formed from ill-formed', () => {
    expect(isUtf8(encodeUtf8('añ€😀'))).toBe(true);
    expect(isUtf8(new Uint8Array([0xc0, 0x80]))).toBe(false); // overlong NUL
    expect(isUtf8(new Uint8Array([0xed, 0xa0, 0x80]))).toBe(false); // a surrogate
    expect(isUtf8(new Uint8Array([0xe2, 0x82]))).toBe(false); // cut short
    expect(isWellFormedText('a😀')).toBe(true);
    expect(isWellFormedText('a\ud83d')).toBe(false);
    expect(isWellFormedText('\ude00a')).toBe(false);
  });
});
