import { describe, expect, it } from 'vitest';
import { RawRing } from '../internal/testing/rawRing.js';
import { VirtqueueDevice } from './virtqueueDevice.js';
import { VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from './virtqLayout.js';

/** A device queue at 0x1000 whose head 0 is the chain 3 readable (5, 1, 7 bytes) + 2 writable (4, 6 bytes) buffers. */
function fivePieceChain() {
  const mem = new SharedArrayBuffer(0x4000);
  const bytes = new Uint8Array(mem);
  const raw = new RawRing(mem, 8, 0x1000, 0x1100, 0x1200);
  const pieces: [number, number, boolean][] = [
    [0x2000, 5, false],
    [0x2100, 1, false],
    [0x2200, 7, false],
    [0x3000, 4, true],
    [0x3100, 6, true],
  ];
  pieces.forEach(([a, l, w], i) => raw.desc(i, a, l, (w ? VIRTQ_DESC_F_WRITE : 0) | (i < 4 ? VIRTQ_DESC_F_NEXT : 0), i + 1));
  raw.publish([0]);
  let v = 1;
  for (const [a, l, w] of pieces) if (!w) for (let i = 0; i < l; i++) bytes[a + i] = v++;
  const q = new VirtqueueDevice(mem, { size: 8, descAddr: 0x1000, driverAddr: 0x1100, deviceAddr: 0x1200, eventIdx: false, indirect: false });
  expect(q.pop()).toBe(0);
  return { q, bytes, c: q.chain };
}

describe('DescriptorChain', () => {
  it('reads the readable part across segments from any offset', () => {
    const { c } = fivePieceChain();
    expect([c.count, c.readableCount, c.writableCount, c.readableBytes, c.writableBytes]).toEqual([5, 3, 2, 13, 10]);
    const all = new Uint8Array(20);
    expect(c.read(all)).toBe(13);
    expect([...all.subarray(0, 13)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    const mid = new Uint8Array(4);
    expect(c.read(mid, 4)).toBe(4);
    expect([...mid]).toEqual([5, 6, 7, 8]);
    expect(c.read(mid, 12)).toBe(1);
    expect(c.read(mid, 13)).toBe(0);
    expect(c.read(mid, -5)).toBe(4); // negative offsets read from the start
    expect(mid[0]).toBe(1);
  });

  it('writes the writable part across segments, bounded by the chain', () => {
    const { c, bytes } = fivePieceChain();
    const src = Uint8Array.from({ length: 16 }, (_, i) => 100 + i);
    expect(c.write(src)).toBe(10);
    expect([...bytes.subarray(0x3000, 0x3004)]).toEqual([100, 101, 102, 103]);
    expect([...bytes.subarray(0x3100, 0x3106)]).toEqual([104, 105, 106, 107, 108, 109]);
    expect(bytes[0x3106]).toBe(0);
    expect(bytes[0x3004]).toBe(0);
    expect(c.write(Uint8Array.of(7, 8), 3)).toBe(2);
    expect([bytes[0x3003], bytes[0x3100]]).toEqual([7, 8]);
    expect(c.write(src, 9)).toBe(1);
    expect(c.write(src, 2, 1)).toBe(1);
    expect(c.write(src, 10)).toBe(0);
  });

  it('copies large segments as well as small ones', () => {
    const mem = new SharedArrayBuffer(1 << 16);
    const bytes = new Uint8Array(mem);
    const raw = new RawRing(mem, 2, 0x100, 0x200, 0x300);
    raw.desc(0, 0x1000, 5000, VIRTQ_DESC_F_NEXT, 1);
    raw.desc(1, 0x4000, 5000, VIRTQ_DESC_F_WRITE);
    raw.publish([0]);
    for (let i = 0; i < 5000; i++) bytes[0x1000 + i] = i & 0xff;
    const q = new VirtqueueDevice(mem, { size: 2, descAddr: 0x100, driverAddr: 0x200, deviceAddr: 0x300, eventIdx: false, indirect: false });
    expect(q.pop()).toBe(0);
    const tmp = new Uint8Array(6000);
    expect(q.chain.read(tmp)).toBe(5000);
    expect(q.chain.write(tmp, 0, 5000)).toBe(5000);
    expect(bytes.subarray(0x4000, 0x4000 + 5000)).toEqual(bytes.subarray(0x1000, 0x1000 + 5000));
  });
});
