/**
 * QEMU stream framing, receive side: whatever way a byte stream is cut —
 * one byte per chunk, many frames per chunk, a length prefix split across
 * chunks — the same frames come out, in order; and a length no frame can
 * have stops the decoder instead of desynchronising it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamFrameDecoder } from './streamFrameDecoder.js';

function encode(frames: readonly Uint8Array[]): Uint8Array {
  const total = frames.reduce((n, f) => n + 4 + f.length, 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  let at = 0;
  for (const f of frames) {
    v.setUint32(at, f.length, false);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  return out;
}

/** Cuts `bytes` at `cuts` (positions, any order, duplicates allowed). */
function chunks(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) out.push(bytes.slice(from, p));
    from = Math.max(from, p);
  }
  return out;
}

function decodeAll(parts: readonly Uint8Array[], max = 4096): { frames: Uint8Array[]; d: StreamFrameDecoder } {
  const frames: Uint8Array[] = [];
  const d = new StreamFrameDecoder(max, (data, off, len) => frames.push(data.slice(off, off + len)));
  for (const p of parts) d.push(p);
  return { frames, d };
}

describe('StreamFrameDecoder (QEMU -netdev stream framing)', () => {
  it('decodes the same frames however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 2000 }), { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
        const bytes = encode(frames);
        const { frames: got, d } = decodeAll(chunks(bytes, cuts));
        expect(got).toEqual(frames.filter((f) => f.length > 0));
        expect(d.emptyFrames).toBe(frames.filter((f) => f.length === 0).length);
        expect(d.error).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('decodes a stream delivered one byte at a time', () => {
    const frames = [new Uint8Array(60).fill(1), new Uint8Array(1514).fill(2), new Uint8Array(42).fill(3)];
    const bytes = encode(frames);
    const { frames: got } = decodeAll(Array.from(bytes, (b) => Uint8Array.of(b)));
    expect(got).toEqual(frames);
  });

  it('stops at a length above its limit and says why', () => {
    const good = encode([new Uint8Array(10).fill(7)]);
    const bad = Uint8Array.of(0x7f, 0xff, 0xff, 0xff, 1, 2, 3);
    const { frames, d } = decodeAll([good, bad, good]);
    expect(frames).toHaveLength(1);
    expect(d.error).toMatch(/frame length of 2147483647 bytes, above the 4096-byte limit/);
    expect(d.push(good)).toBe(false);
  });
});
