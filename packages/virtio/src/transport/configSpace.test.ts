import { describe, expect, it } from 'vitest';
import { VIRTIO_BLK_CONFIG_LAYOUT } from '../types/block.js';
import { VIRTIO_NET_CONFIG_LAYOUT } from '../types/net.js';
import { ConfigSpace } from './configSpace.js';

describe('ConfigSpace', () => {
  it('stores fields little-endian at their layout offsets (5.2.4)', () => {
    const c = new ConfigSpace(VIRTIO_BLK_CONFIG_LAYOUT);
    c.set('capacity', 0x1_0000_0002n);
    c.set('blk_size', 4096);
    c.set('heads', 0x1ff); // truncated to the byte
    expect(c.size).toBe(72);
    expect([c.read(0, 4), c.read(4, 4), c.read(20, 4), c.read(18, 1)]).toEqual([2, 1, 4096, 0xff]);
    expect(c.get('capacity')).toBe(0x1_0000_0002n);
    expect(c.get('blk_size')).toBe(4096);
    c.write(32, 1, 1);
    expect(c.get('writeback')).toBe(1);
    expect(c.read(70, 4)).toBe(0); // runs past the end
    c.write(71, 2, 0xffff); // ignored
    expect(c.bytes[71]).toBe(0);
  });

  it('copies byte-array fields and refuses scalar access to them', () => {
    const c = new ConfigSpace(VIRTIO_NET_CONFIG_LAYOUT);
    c.setBytes('mac', Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x99));
    expect([...c.bytes.subarray(0, 7)]).toEqual([0x52, 0x54, 0, 0x12, 0x34, 0x56, 0]);
    expect(() => c.set('mac', 1)).toThrow(RangeError);
    expect(() => c.get('mac')).toThrow(RangeError);
  });
});
