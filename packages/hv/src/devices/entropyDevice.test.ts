/**
 * The virtio-rng device model (virtio 5.4): buffers come back full of host
 * randomness, readable segments are left alone, and a guest cannot make it
 * fill more than MAX_FILL bytes per request.
 */
import { VIRTIO_ENTROPY_REQUESTQ, VIRTIO_F_EVENT_IDX, featureBit } from '@osv-ts/virtio';
import { describe, expect, it } from 'vitest';
import { DeviceHarness } from '../testing/deviceHarness.js';
import { createEntropyDevice, MAX_FILL } from './entropyDevice.js';

function setup() {
  const h = new DeviceHarness(1 << 21, (w) => createEntropyDevice(w).device);
  h.driver.probe();
  h.driver.negotiate(featureBit(VIRTIO_F_EVENT_IDX));
  const q = h.driver.createQueue(VIRTIO_ENTROPY_REQUESTQ, h.memory, h.dma, { maxSize: 8 });
  h.driver.driverOk();
  return { h, q };
}

describe('virtio-rng device (virtio 5.4)', () => {
  it('fills every writable byte with random data and reports the length', () => {
    const { h, q } = setup();
    const a = h.dma.alloc(256, 16);
    q.add(a, 256, true, 1);
    h.driver.kick(0);
    expect(q.getUsed()).toBe(1);
    expect(q.usedLength).toBe(256);
    const bytes = h.mem.subarray(a, a + 256);
    expect(new Set(bytes).size).toBeGreaterThan(100); // 256 random bytes hit far more than 100 values
  });

  it('leaves device-readable segments alone', () => {
    const { h, q } = setup();
    const r = h.dma.alloc(64, 16);
    const w = h.dma.alloc(64, 16);
    h.mem.fill(0x33, r, r + 64);
    q.begin();
    q.push(r, 64, false);
    q.push(w, 64, true);
    q.commit(2);
    h.driver.kick(0);
    expect(q.getUsed()).toBe(2);
    expect(q.usedLength).toBe(64);
    expect(h.mem.subarray(r, r + 64).every((b) => b === 0x33)).toBe(true);
  });

  it('fills at most MAX_FILL bytes of a huge request', () => {
    const { h, q } = setup();
    const a = h.dma.alloc(MAX_FILL + 4096, 16);
    q.add(a, MAX_FILL + 4096, true, 3);
    h.driver.kick(0);
    expect(q.getUsed()).toBe(3);
    expect(q.usedLength).toBe(MAX_FILL);
    expect(h.mem.subarray(a + MAX_FILL, a + MAX_FILL + 4096).every((b) => b === 0)).toBe(true);
  });
});
