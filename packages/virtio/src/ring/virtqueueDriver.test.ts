/**
 * Round trips over one SharedArrayBuffer: VirtqueueDriver adds, VirtqueueDevice
 * pops and pushes, the driver collects. The device side is the real one, so
 * each side checks the other's idea of the layout.
 */
import { describe, expect, it } from 'vitest';
import { BumpAllocator } from '../internal/testing/bumpAllocator.js';
import { echo } from '../internal/testing/echoModel.js';
import { VIRTIO_ERRNO } from '../virtioError.js';
import { VirtqueueDevice } from './virtqueueDevice.js';
import { VirtqueueDriver, VIRTQ_NONE } from './virtqueueDriver.js';
import { virtqLayout } from './virtqLayout.js';

interface Pair {
  mem: SharedArrayBuffer;
  bytes: Uint8Array;
  drv: VirtqueueDriver;
  dev: VirtqueueDevice;
  dma: BumpAllocator;
}

function pair(size: number, opts: { eventIdx?: boolean; indirect?: boolean; memBytes?: number; indirectThreshold?: number } = {}): Pair {
  const mem = new SharedArrayBuffer(opts.memBytes ?? 1 << 20);
  const dma = new BumpAllocator(mem.byteLength);
  const eventIdx = opts.eventIdx ?? false;
  const indirect = opts.indirect ?? false;
  const drv = new VirtqueueDriver(mem, dma, { size, eventIdx, indirect, ...(opts.indirectThreshold ? { indirectThreshold: opts.indirectThreshold } : {}) });
  const dev = new VirtqueueDevice(mem, { size, descAddr: drv.descAddr, driverAddr: drv.driverAddr, deviceAddr: drv.deviceAddr, eventIdx, indirect });
  return { mem, bytes: new Uint8Array(mem), drv, dev, dma };
}

/** Device loop: pop everything, echo (bytes + 1) into the writable part, push, flush. */
function serve(dev: VirtqueueDevice): { popped: number; interrupt: boolean } {
  const scratch = new Uint8Array(4096);
  let popped = 0;
  for (let h; (h = dev.pop()) >= 0; popped++) dev.pushUsed(h, echo(dev.chain, scratch));
  return { popped, interrupt: dev.flush() };
}

describe('VirtqueueDriver ⇄ VirtqueueDevice round trips', () => {
  for (const eventIdx of [false, true]) {
    it(`moves data both ways and returns tokens (EVENT_IDX ${eventIdx})`, () => {
      const p = pair(16, { eventIdx });
      const out = p.dma.alloc(64, 8);
      const inb = p.dma.alloc(64, 8);
      for (let i = 0; i < 64; i++) p.bytes[out + i] = i;
      p.drv.begin();
      expect(p.drv.push(out, 40, false)).toBe(0);
      expect(p.drv.push(inb, 64, true)).toBe(0);
      const head = p.drv.commit(12345);
      expect(head).toBeGreaterThanOrEqual(0);
      expect(p.drv.getUsed()).toBe(VIRTQ_NONE); // not published yet
      expect(p.drv.kick()).toBe(true);
      expect(serve(p.dev)).toEqual({ popped: 1, interrupt: true });
      expect(p.drv.getUsed()).toBe(12345);
      expect(p.drv.usedLength).toBe(40);
      for (let i = 0; i < 40; i++) expect(p.bytes[inb + i]).toBe(i + 1);
      expect(p.drv.getUsed()).toBe(VIRTQ_NONE);
      expect(p.drv.freeDescriptors).toBe(16);
    });
  }

  it('fills a ring of every size 1..1024 to -ENOSPC, then drains and refills it', () => {
    for (let size = 1; size <= 1024; size *= 2) {
      for (const eventIdx of [false, true]) {
        const p = pair(size, { eventIdx, memBytes: 1 << 16 });
        const buf = p.dma.alloc(16, 16);
        for (let round = 0; round < 3; round++) {
          for (let i = 0; i < size; i++) expect(p.drv.add(buf, 16, true, round * size + i)).toBeGreaterThanOrEqual(0);
          expect(p.drv.add(buf, 16, true, 0)).toBe(-VIRTIO_ERRNO.ENOSPC);
          p.drv.kick();
          expect(serve(p.dev).popped).toBe(size);
          const seen = new Set<number>();
          for (let t; (t = p.drv.getUsed()) >= 0; ) seen.add(t);
          expect(seen.size).toBe(size);
          expect(Math.min(...seen)).toBe(round * size);
          expect(p.drv.freeDescriptors).toBe(size);
        }
      }
    }
  });

  for (const eventIdx of [false, true]) {
    it(`wraps the 16-bit ring indices past 65535 (EVENT_IDX ${eventIdx})`, () => {
      const p = pair(4, { eventIdx, memBytes: 1 << 14 });
      const buf = p.dma.alloc(8, 8);
      const dv = new DataView(p.mem);
      const availIdxAt = p.drv.driverAddr + 2;
      let next = 0;
      let done = 0;
      let batch = 1;
      while (done < 70_000) {
        for (let i = 0; i < batch; i++) if (p.drv.add(buf, 8, true, next++) < 0) throw new Error(`add failed at ${next}`);
        p.drv.kick();
        serve(p.dev);
        for (let t; (t = p.drv.getUsed()) >= 0; done++) if (t !== done) throw new Error(`token ${t}, expected ${done}`);
        batch = (batch % 4) + 1;
      }
      expect(dv.getUint16(availIdxAt, true)).toBe(next & 0xffff);
      expect(next).toBeGreaterThan(65536);
    });
  }

  it('uses one descriptor and an indirect table for chains at the threshold, direct ones below it', () => {
    const p = pair(8, { indirect: true, indirectThreshold: 3 });
    const bufs = Array.from({ length: 6 }, () => p.dma.alloc(32, 8));
    bufs.forEach((b, i) => p.bytes.fill(10 * i, b, b + 32));
    p.drv.begin();
    for (let i = 0; i < 3; i++) p.drv.push(bufs[i]!, 32, false);
    for (let i = 3; i < 6; i++) p.drv.push(bufs[i]!, 32, true);
    expect(p.drv.commit(7)).toBeGreaterThanOrEqual(0);
    expect(p.drv.freeDescriptors).toBe(7);
    p.drv.begin();
    p.drv.push(bufs[0]!, 32, false);
    p.drv.push(bufs[5]!, 32, true);
    expect(p.drv.commit(8)).toBeGreaterThanOrEqual(0);
    expect(p.drv.freeDescriptors).toBe(5);
    p.drv.kick();
    expect(p.dev.pop()).toBeGreaterThanOrEqual(0);
    const c = p.dev.chain;
    expect([c.count, c.readableCount, c.writableCount, c.readableBytes, c.writableBytes]).toEqual([6, 3, 3, 96, 96]);
    expect([0, 1, 2, 3, 4, 5].map((i) => [c.segmentAddress(i), c.isWritable(i)])).toEqual(bufs.map((b, i) => [b, i >= 3]));
    p.dev.pushUsed(c.head, echo(c, new Uint8Array(256)));
    expect(p.bytes[bufs[3]!]).toBe(1); // buf 0's 0 + 1
    expect(p.bytes[bufs[5]! + 31]).toBe(21); // buf 2's 20 + 1
    serve(p.dev); // the second chain echoes buf 0 into buf 5
    expect(p.bytes[bufs[5]! + 31]).toBe(1);
    expect(p.drv.getUsed()).toBe(7);
    expect(p.drv.usedLength).toBe(96);
    expect(p.drv.getUsed()).toBe(8);
    expect(p.drv.usedLength).toBe(32);
    expect(p.drv.freeDescriptors).toBe(8);
  });

  it('falls back to direct descriptors for chains longer than an indirect table', () => {
    const mem = new SharedArrayBuffer(1 << 16);
    const dma = new BumpAllocator(mem.byteLength);
    const drv = new VirtqueueDriver(mem, dma, { size: 16, indirect: true, indirectMaxChain: 4 });
    const dev = new VirtqueueDevice(mem, { size: 16, descAddr: drv.descAddr, driverAddr: drv.driverAddr, deviceAddr: drv.deviceAddr, eventIdx: false, indirect: true });
    const b = dma.alloc(8, 8);
    drv.begin();
    for (let i = 0; i < 6; i++) drv.push(b, 8, false);
    expect(drv.commit(1)).toBeGreaterThanOrEqual(0);
    expect(drv.freeDescriptors).toBe(10);
    drv.kick();
    expect(dev.pop()).toBeGreaterThanOrEqual(0);
    expect(dev.chain.count).toBe(6);
  });

  it('keeps the staged chain on -ENOSPC so it can be committed after completions', () => {
    const p = pair(4);
    const b = p.dma.alloc(8, 8);
    expect(p.drv.add(b, 8, true, 1)).toBeGreaterThanOrEqual(0);
    expect(p.drv.add(b, 8, true, 2)).toBeGreaterThanOrEqual(0);
    p.drv.begin();
    for (let i = 0; i < 3; i++) p.drv.push(b, 8, true);
    expect(p.drv.commit(3)).toBe(-VIRTIO_ERRNO.ENOSPC);
    p.drv.kick();
    serve(p.dev);
    expect(p.drv.getUsed()).toBe(1);
    expect(p.drv.commit(3)).toBeGreaterThanOrEqual(0);
    expect(p.drv.freeDescriptors).toBe(0);
  });

  it('rejects bad buffers and tokens with negative errnos', () => {
    const p = pair(4, { memBytes: 1 << 14 });
    expect(p.drv.add(0x100, 0, true, 1)).toBe(-VIRTIO_ERRNO.EINVAL);
    expect(p.drv.add((1 << 14) - 4, 8, true, 1)).toBe(-VIRTIO_ERRNO.EFAULT);
    expect(p.drv.add(-8, 8, true, 1)).toBe(-VIRTIO_ERRNO.EFAULT);
    expect(p.drv.add(0x100, 8, true, -1)).toBe(-VIRTIO_ERRNO.EINVAL);
    expect(p.drv.add(0x100, 8, true, NaN)).toBe(-VIRTIO_ERRNO.EINVAL);
    p.drv.begin();
    p.drv.push(0x100, 8, true);
    expect(p.drv.push(0x200, 8, false)).toBe(-VIRTIO_ERRNO.EINVAL); // readable after writable
    expect(p.drv.commit(1)).toBe(-VIRTIO_ERRNO.EINVAL);
    p.drv.begin();
    expect(p.drv.commit(1)).toBe(-VIRTIO_ERRNO.EINVAL); // empty chain
    p.drv.begin();
    for (let i = 0; i < 4; i++) p.drv.push(0x100, 8, false);
    expect(p.drv.push(0x100, 8, false)).toBe(-VIRTIO_ERRNO.ENOSPC);
    expect(p.drv.freeDescriptors).toBe(4);
  });

  it('detects a device returning a head it does not own', () => {
    const p = pair(4);
    const b = p.dma.alloc(8, 8);
    const head = p.drv.add(b, 8, true, 1);
    p.drv.kick();
    expect(p.dev.pop()).toBe(head);
    p.dev.pushUsed(head, 8);
    p.dev.pushUsed(head, 8); // twice
    p.dev.flush();
    expect(p.drv.getUsed()).toBe(-VIRTIO_ERRNO.EIO);
    expect(p.drv.isBroken).toBe(true);
    expect(p.drv.add(b, 8, true, 2)).toBe(-VIRTIO_ERRNO.EIO);
    p.drv.reset();
    expect(p.drv.isBroken).toBe(false);
    expect(p.drv.freeDescriptors).toBe(4);
  });

  it('clamps a used length larger than the chain can hold', () => {
    const p = pair(4);
    const b = p.dma.alloc(8, 8);
    const head = p.drv.add(b, 8, true, 1);
    p.drv.kick();
    p.dev.pop();
    p.dev.pushUsed(head, 1 << 30);
    p.dev.flush();
    expect(p.drv.getUsed()).toBe(1);
    expect(p.drv.usedLength).toBe(8);
  });

  it('lays its rings out as virtqLayout says, in the allocation it got', () => {
    const p = pair(64);
    const l = virtqLayout(64);
    expect(p.drv.driverAddr - p.drv.descAddr).toBe(l.avail.offset);
    expect(p.drv.deviceAddr - p.drv.descAddr).toBe(l.used.offset);
    expect(p.drv.descAddr % 16).toBe(0);
  });
});

describe('notification suppression (2.7.7, 2.7.10)', () => {
  it('without EVENT_IDX: VIRTQ_USED_F_NO_NOTIFY silences kicks, VIRTQ_AVAIL_F_NO_INTERRUPT silences interrupts', () => {
    const p = pair(8);
    const b = p.dma.alloc(8, 8);
    p.dev.disableNotifications();
    p.drv.add(b, 8, true, 1);
    expect(p.drv.kick()).toBe(false);
    expect(p.dev.enableNotifications()).toBe(false); // a chain is waiting
    p.drv.add(b, 8, true, 2);
    expect(p.drv.kick()).toBe(true);
    expect(p.drv.kick()).toBe(false); // nothing new
    p.drv.disableInterrupts();
    expect(serve(p.dev)).toEqual({ popped: 2, interrupt: false });
    expect(p.drv.enableInterrupts()).toBe(false); // used buffers arrived meanwhile
    expect(p.drv.getUsed()).toBe(1);
    expect(p.drv.getUsed()).toBe(2);
    expect(p.drv.enableInterrupts()).toBe(true);
    p.drv.add(b, 8, true, 3);
    p.drv.kick();
    expect(serve(p.dev).interrupt).toBe(true);
    expect(p.dev.enableNotifications()).toBe(true);
  });

  it('with EVENT_IDX: the driver notifies only when avail idx passes avail_event', () => {
    const p = pair(8, { eventIdx: true });
    const b = p.dma.alloc(8, 8);
    p.drv.add(b, 8, true, 1);
    expect(p.drv.kick()).toBe(true); // avail_event 0 lies in [0, 1)
    p.drv.add(b, 8, true, 2);
    expect(p.drv.kick()).toBe(false); // the device has not caught up: avail_event still 0
    expect(p.dev.pop()).toBeGreaterThanOrEqual(0); // avail_event -> 1
    expect(p.dev.pop()).toBeGreaterThanOrEqual(0); // avail_event -> 2
    expect(p.dev.pop()).toBe(-1);
    p.drv.add(b, 8, true, 3);
    expect(p.drv.kick()).toBe(true);
    p.dev.disableNotifications(); // avail_event moved behind
    p.drv.add(b, 8, true, 4);
    expect(p.drv.kick()).toBe(false);
    expect(p.dev.enableNotifications()).toBe(false); // chains 3 and 4 are waiting
  });

  it('with EVENT_IDX: the device interrupts only when used idx passes used_event', () => {
    const p = pair(8, { eventIdx: true });
    const b = p.dma.alloc(8, 8);
    for (let i = 0; i < 6; i++) p.drv.add(b, 8, true, i);
    p.drv.kick();
    const heads = Array.from({ length: 6 }, () => p.dev.pop());
    p.dev.pushUsed(heads[0]!, 1);
    expect(p.dev.flush()).toBe(true); // used_event 0 lies in [0, 1)
    p.dev.pushUsed(heads[1]!, 1);
    expect(p.dev.flush()).toBe(false); // the driver has not consumed: used_event still 0
    expect(p.drv.getUsed()).toBe(0); // used_event -> 1
    expect(p.drv.getUsed()).toBe(1); // used_event -> 2
    p.drv.disableInterrupts(); // used_event -> 1, behind
    p.dev.pushUsed(heads[2]!, 1);
    expect(p.dev.flush()).toBe(false);
    expect(p.drv.enableInterrupts()).toBe(false); // chain 2 is pending
    expect(p.drv.getUsed()).toBe(2);
    expect(p.drv.enableInterruptsDelayed()).toBe(true); // 3 in flight: wake after 3 * 3/4 = 2 more
    p.dev.pushUsed(heads[3]!, 1);
    expect(p.dev.flush()).toBe(false);
    p.dev.pushUsed(heads[4]!, 1);
    expect(p.dev.flush()).toBe(false);
    p.dev.pushUsed(heads[5]!, 1);
    expect(p.dev.flush()).toBe(true);
  });
});
