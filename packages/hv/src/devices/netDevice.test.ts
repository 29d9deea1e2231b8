/**
 * The virtio-net device model (virtio 5.1) with the virtio package's driver
 * side and a scripted backend: configuration, both directions, backpressure,
 * link changes, and what a hostile or sloppy guest gets for bad frames.
 */
import {
  VIRTIO_NET_CONFIG_LAYOUT as CFG,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_LAYOUT as HDR,
  VIRTIO_NET_RECEIVEQ,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_NET_TRANSMITQ,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_MMIO_INT_CONFIG,
  featureBit,
} from '@osv-ts/virtio';
import type { VirtqueueDriver } from '@osv-ts/virtio/driver';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeviceHarness } from '../testing/deviceHarness.js';
import { FakeNetBackend } from '../testing/fakeNetBackend.js';
import { internetChecksum, onesSum } from './netChecksum.js';
import { createNetDevice, type NetModel } from './netDevice.js';

const MAC = Uint8Array.of(0x52, 0x54, 0, 1, 2, 3);

/** A device and a guest driver for it; `mrg`: the driver accepts VIRTIO_NET_F_MRG_RXBUF (the device offers it unless `offerMrg` is false). */
function setup(mtu = 1500, offloads = false, mrg = false, offerMrg = true) {
  const backend = new FakeNetBackend();
  let model!: NetModel;
  const h = new DeviceHarness(1 << 21, (w) => {
    const m = createNetDevice(backend, w, { mac: MAC, mtu, offloads, mergeableRxBuffers: offerMrg });
    model = m.model;
    return m.device;
  });
  h.driver.probe();
  h.driver.negotiate(featureBit(VIRTIO_F_EVENT_IDX) | featureBit(VIRTIO_NET_F_MAC) | featureBit(VIRTIO_NET_F_STATUS) | featureBit(VIRTIO_NET_F_MTU) | featureBit(VIRTIO_NET_F_CSUM) | (mrg ? featureBit(VIRTIO_NET_F_MRG_RXBUF) : 0n));
  const rx = h.driver.createQueue(VIRTIO_NET_RECEIVEQ, h.memory, h.dma, { maxSize: 16 });
  const tx = h.driver.createQueue(VIRTIO_NET_TRANSMITQ, h.memory, h.dma, { maxSize: 16 });
  h.driver.driverOk();
  return { h, backend, model, rx, tx };
}

function ethFrame(len: number, fill: number): Uint8Array {
  const f = new Uint8Array(len).fill(fill);
  f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...MAC, 0x08, 0x06].slice(0, len));
  return f;
}

/** Puts one transmit chain: a header (with `hdr` bytes) and the frame, split in two buffers. */
function transmit(s: ReturnType<typeof setup>, frame: Uint8Array, hdr: Partial<Record<'flags' | 'gso_type' | 'csum_start' | 'csum_offset', number>> = {}): void {
  const { h, tx } = s;
  const at = h.dma.alloc(HDR.SIZE + frame.length, 16);
  h.mem.fill(0, at, at + HDR.SIZE);
  h.mem[at + HDR.flags.offset] = hdr.flags ?? 0;
  h.mem[at + HDR.gso_type.offset] = hdr.gso_type ?? 0;
  new DataView(h.mem.buffer).setUint16(at + HDR.csum_start.offset, hdr.csum_start ?? 0, true);
  new DataView(h.mem.buffer).setUint16(at + HDR.csum_offset.offset, hdr.csum_offset ?? 0, true);
  h.mem.set(frame, at + HDR.SIZE);
  tx.begin();
  tx.push(at, HDR.SIZE, false);
  if (frame.length > 0) tx.push(at + HDR.SIZE, frame.length, false);
  expect(tx.commit(at)).toBeGreaterThanOrEqual(0);
  h.driver.kick(VIRTIO_NET_TRANSMITQ);
}

/** Posts `n` receive buffers of `bytes` each; returns their addresses. */
function postRx(s: ReturnType<typeof setup>, n: number, bytes: number): number[] {
  const addrs: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = s.h.dma.alloc(bytes, 16);
    expect(s.rx.add(a, bytes, true, a)).toBeGreaterThanOrEqual(0);
    addrs.push(a);
  }
  s.h.driver.kick(VIRTIO_NET_RECEIVEQ);
  return addrs;
}

function received(s: ReturnType<typeof setup>, rx: VirtqueueDriver): { hdr: Uint8Array; frame: Uint8Array; len: number }[] {
  const out = [];
  for (let t; (t = rx.getUsed()) >= 0; ) {
    const len = rx.usedLength;
    out.push({ len, hdr: s.h.mem.slice(t, t + HDR.SIZE), frame: s.h.mem.slice(t + HDR.SIZE, t + len) });
  }
  return out;
}

describe('virtio-net device (virtio 5.1)', () => {
  it('offers MAC, STATUS and MTU, and no offloads when they are turned off, with its configuration', () => {
    const s = setup(9000);
    const f = s.h.driver.features;
    for (const bit of [VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_NET_F_MTU]) expect(f & featureBit(bit)).not.toBe(0n);
    for (const bit of [VIRTIO_NET_F_CSUM, VIRTIO_NET_F_MRG_RXBUF]) expect(f & featureBit(bit)).toBe(0n);
    const mac = new Uint8Array(6);
    s.h.driver.configReadBytes(CFG.mac.offset, mac);
    expect(mac).toEqual(MAC);
    expect(s.h.driver.configRead16(CFG.mtu.offset)).toBe(9000);
    expect(s.h.driver.configRead16(CFG.status.offset)).toBe(VIRTIO_NET_S_LINK_UP);
  });

  it('hands transmitted frames to the backend without the header, and counts them', () => {
    const s = setup();
    const frames = [ethFrame(60, 1), ethFrame(1514, 2), ethFrame(1518, 3)];
    for (const f of frames) transmit(s, f);
    expect(s.backend.sent).toEqual(frames);
    expect(s.model.stats.txFrames).toBe(3);
    const used = [];
    for (let t; (t = s.tx.getUsed()) >= 0; ) used.push(s.tx.usedLength);
    expect(used).toEqual([0, 0, 0]);
  });

  it('drops frames too short, too long, or asking for offloads that were never offered (offloads off)', () => {
    const s = setup();
    transmit(s, ethFrame(13, 1));
    transmit(s, ethFrame(1519, 1));
    transmit(s, ethFrame(60, 1), { flags: 1 }); // NEEDS_CSUM
    transmit(s, ethFrame(60, 1), { gso_type: 1 }); // TCPv4 segmentation
    transmit(s, new Uint8Array(0)); // header only
    expect(s.backend.sent).toEqual([]);
    expect(s.model.stats.txDropped).toBe(5);
    expect(s.h.needsReset()).toBe(false);
  });

  it('goes to DEVICE_NEEDS_RESET for a transmit chain shorter than the header', () => {
    const s = setup();
    const a = s.h.dma.alloc(8, 8);
    s.tx.add(a, 8, false, 1);
    s.h.driver.kick(VIRTIO_NET_TRANSMITQ);
    expect(s.h.needsReset()).toBe(true);
    expect(s.h.logs.join('\n')).toMatch(/less than the 12-byte virtio-net header/);
  });

  it('delivers received frames behind a header with num_buffers 1, holding them until buffers are posted', () => {
    const s = setup();
    const frames = [ethFrame(60, 7), ethFrame(1514, 8)];
    for (const f of frames) s.backend.inject(f);
    expect(received(s, s.rx)).toEqual([]);
    postRx(s, 4, 1526);
    const got = received(s, s.rx);
    expect(got.map((g) => g.frame)).toEqual(frames);
    expect(got.map((g) => g.len)).toEqual([72, 1526]);
    const numBuffers = new DataView(got[0]!.hdr.buffer).getUint16(HDR.num_buffers.offset, true);
    expect(numBuffers).toBe(1);
    expect(got[0]!.hdr.subarray(0, HDR.num_buffers.offset).every((b) => b === 0)).toBe(true);
  });

  it('returns a receive buffer too small for the frame with length 0 and drops the frame', () => {
    const s = setup();
    postRx(s, 1, 100);
    s.backend.inject(ethFrame(1000, 1));
    expect(received(s, s.rx).map((g) => g.len)).toEqual([0]);
    expect(s.model.stats.rxDropped).toBe(1);
  });

  it('pauses the backend when frames pile up and resumes it when the guest catches up', () => {
    const s = setup();
    for (let i = 0; i < 200; i++) s.backend.inject(ethFrame(60, i));
    expect(s.backend.paused).toBe(true);
    for (let round = 0; round < 20; round++) {
      postRx(s, 10, 1526);
      received(s, s.rx);
    }
    expect(s.backend.paused).toBe(false);
    expect(s.model.stats.rxFrames).toBe(200);
  });

  it('stops taking transmit chains while the backend is congested and resumes when it drains', () => {
    const s = setup();
    s.backend.congested = true;
    transmit(s, ethFrame(60, 1));
    transmit(s, ethFrame(60, 2));
    expect(s.backend.sent).toEqual([]);
    s.backend.drain();
    expect(s.backend.sent).toEqual([ethFrame(60, 1), ethFrame(60, 2)]);
  });

  it('reports link changes through the status field and a configuration interrupt', () => {
    const s = setup();
    const before = s.h.irqs;
    s.backend.setLink(false);
    expect(s.h.irqs).toBe(before + 1);
    expect(s.h.driver.ackInterrupt() & VIRTIO_MMIO_INT_CONFIG).toBe(VIRTIO_MMIO_INT_CONFIG);
    expect(s.h.driver.configRead16(CFG.status.offset) & VIRTIO_NET_S_LINK_UP).toBe(0);
  });

  it('offers CSUM by default and fills in checksums of NEEDS_CSUM frames before the backend sees them', () => {
    const s = setup(1500, true);
    expect(s.h.driver.features & featureBit(VIRTIO_NET_F_CSUM)).not.toBe(0n);
    expect(s.h.driver.features & featureBit(VIRTIO_NET_F_MRG_RXBUF)).toBe(0n);
    const ref = udpFrame(333);
    const partial = ref.slice();
    // The guest leaves the folded pseudo-header sum in the field, as Linux and netchannel do.
    const l4 = 34;
    const pseudo = onesSum(Uint8Array.of(...partial.subarray(26, 34), 0, 17, (partial.length - l4) >> 8, (partial.length - l4) & 0xff), 0, 12);
    partial[l4 + 6] = pseudo >>> 8;
    partial[l4 + 7] = pseudo & 0xff;
    transmit(s, partial, { flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, csum_start: l4, csum_offset: 6 });
    expect(s.backend.sent).toEqual([ref]);
    expect(s.model.stats.txChecksummed).toBe(1);
  });

  it('drops NEEDS_CSUM frames whose offsets leave the frame, and any segmentation request, without a reset', () => {
    const s = setup(1500, true);
    const f = udpFrame(20);
    for (const [start, off] of [
      [f.length, 0], // starts past the end
      [34, f.length - 34 - 1], // field straddles the end
      [65535, 65535], // both at their maximum
      [4, 6], // inside the Ethernet header
      [34, 65535],
    ] as const) {
      transmit(s, f, { flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, csum_start: start, csum_offset: off });
    }
    transmit(s, f, { gso_type: 1 });
    transmit(s, f, { gso_type: 0x81 });
    expect(s.backend.sent).toEqual([]);
    expect(s.model.stats.txBadOffload).toBe(7);
    expect(s.h.needsReset()).toBe(false);
    transmit(s, f, { flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, csum_start: 34, csum_offset: f.length - 34 - 2 }); // the last two bytes: in range
    expect(s.backend.sent.length).toBe(1);
  });
});

/** Posts one receive chain of `segs` (bytes, device-writable or not); returns the token (its first address). */
function postChain(s: ReturnType<typeof setup>, segs: readonly (readonly [number, boolean])[], kick = true): number {
  s.rx.begin();
  let first = -1;
  for (const [bytes, writable] of segs) {
    const a = s.h.dma.alloc(bytes, 16);
    if (first < 0) first = a;
    s.rx.push(a, bytes, writable);
  }
  expect(s.rx.commit(first)).toBeGreaterThanOrEqual(0);
  if (kick) s.h.driver.kick(VIRTIO_NET_RECEIVEQ);
  return first;
}

/** Used receive buffers, in ring order: token (the buffer's address) and used length. */
function usedBuffers(rx: VirtqueueDriver): { at: number; len: number }[] {
  const out = [];
  for (let t; (t = rx.getUsed()) >= 0; ) out.push({ at: t, len: rx.usedLength });
  return out;
}

/**
 * Reassembles frames from used buffers as a MRG_RXBUF driver does (5.1.6.4):
 * num_buffers from the first buffer's header, the frame from the bytes after
 * the header and all of the following buffers' bytes.
 */
function mergedFrames(s: ReturnType<typeof setup>, used: readonly { at: number; len: number }[]): { numBuffers: number; lens: number[]; frame: Uint8Array }[] {
  const out = [];
  for (let i = 0; i < used.length; ) {
    const head = used[i]!;
    const numBuffers = new DataView(s.h.memory).getUint16(head.at + HDR.num_buffers.offset, true);
    expect(numBuffers).toBeGreaterThan(0);
    const parts = used.slice(i, i + numBuffers);
    expect(parts.length).toBe(numBuffers);
    const frame = new Uint8Array(parts.reduce((n, p) => n + p.len, 0) - HDR.SIZE);
    let o = 0;
    parts.forEach((p, k) => {
      const from = p.at + (k === 0 ? HDR.SIZE : 0);
      const n = p.len - (k === 0 ? HDR.SIZE : 0);
      frame.set(s.h.mem.subarray(from, from + n), o);
      o += n;
    });
    out.push({ numBuffers, lens: parts.map((p) => p.len), frame });
    i += numBuffers;
  }
  return out;
}

describe('virtio-net mergeable receive buffers (VIRTIO_NET_F_MRG_RXBUF, 5.1.6.3, 5.1.6.4)', () => {
  it('is offered by default, also with offloads off, and not when turned off', () => {
    expect(setup().model.features & featureBit(VIRTIO_NET_F_MRG_RXBUF)).not.toBe(0n);
    expect(setup(1500, false, true).h.driver.features & featureBit(VIRTIO_NET_F_MRG_RXBUF)).not.toBe(0n);
    const off = setup(1500, true, true, false);
    expect(off.model.features & featureBit(VIRTIO_NET_F_MRG_RXBUF)).toBe(0n);
    expect(off.h.driver.features & featureBit(VIRTIO_NET_F_MRG_RXBUF)).toBe(0n);
  });

  it('spreads a frame over one, two or many chains, with num_buffers and per-chain used lengths', () => {
    for (const [bufBytes, chains] of [
      [1526, 1], // header and frame fit one chain
      [800, 2], // 1526 bytes: 800 + 726
      [100, 16], // 15 full chains and 26 bytes in the 16th
    ] as const) {
      const s = setup(1500, false, true);
      const f = ethFrame(1514, 9);
      for (let i = 14; i < f.length; i++) f[i] = (i * 7) & 0xff;
      postRx(s, 16, bufBytes);
      s.backend.inject(f);
      const used = usedBuffers(s.rx);
      expect(used.length).toBe(chains);
      const [got] = mergedFrames(s, used);
      expect(got!.numBuffers).toBe(chains);
      expect(got!.frame).toEqual(f);
      expect(got!.lens.reduce((a, b) => a + b, 0)).toBe(HDR.SIZE + f.length);
      expect(got!.lens.slice(0, -1).every((l) => l === bufBytes)).toBe(true); // every chain but the last is full
      expect(s.h.mem.subarray(used[0]!.at, used[0]!.at + HDR.num_buffers.offset).every((b) => b === 0)).toBe(true); // no flags, GSO_NONE
      expect(s.model.stats).toMatchObject({ rxFrames: 1, rxDropped: 0, rxMerged: chains > 1 ? 1 : 0 });
    }
  });

  it('delivers frames of every size in order whatever the chain sizes, and uses a chain for one frame only', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 14, max: 1514 }), { minLength: 1, maxLength: 12 }),
        // From 96 bytes up, a queue's worth (16) of the smallest holds the largest frame (the next test drops what cannot fit).
        fc.array(fc.oneof(fc.integer({ min: 96, max: 200 }), fc.integer({ min: 96, max: 1600 })), { minLength: 1, maxLength: 8 }),
        (lens, sizes) => {
          const s = setup(1500, false, true);
          const frames = lens.map((n, i) => ethFrame(n, i + 1));
          for (const f of frames) s.backend.inject(f);
          const used: { at: number; len: number }[] = [];
          // Posts chains of the given sizes in turn, a few at a time, until every frame is out.
          for (let k = 0; used.length === 0 || mergedFrames(s, used).length < frames.length; k++) {
            expect(k).toBeLessThan(2000);
            for (let j = 0; j < 3 && s.rx.freeDescriptors > 0; j++) postChain(s, [[sizes[(k * 3 + j) % sizes.length]!, true]], false);
            s.h.driver.kick(VIRTIO_NET_RECEIVEQ);
            used.push(...usedBuffers(s.rx));
          }
          const got = mergedFrames(s, used);
          expect(got.map((g) => g.frame)).toEqual(frames);
          expect(s.model.stats.rxFrames).toBe(frames.length);
          expect(s.model.stats.rxDropped).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('holds a frame while the ring runs dry mid-frame and publishes nothing of it until it is whole', () => {
    const s = setup(1500, false, true);
    const f = ethFrame(1000, 5);
    postRx(s, 3, 300); // 900 of the 1012 bytes
    s.backend.inject(f);
    expect(usedBuffers(s.rx)).toEqual([]);
    expect(s.model.stats).toMatchObject({ rxFrames: 0, rxDropped: 0 });
    postRx(s, 1, 300);
    const used = usedBuffers(s.rx);
    expect(used.map((u) => u.len)).toEqual([300, 300, 300, 112]);
    expect(mergedFrames(s, used)[0]!.frame).toEqual(f);
  });

  it('writes only into the device-writable part of a chain that also has readable buffers', () => {
    const s = setup(1500, false, true);
    const at = postChain(s, [[64, false], [40, true], [30, true]]);
    s.h.mem.fill(0xee, at, at + 64);
    const f = ethFrame(60, 3);
    postRx(s, 1, 1526);
    s.backend.inject(f);
    const used = usedBuffers(s.rx);
    expect(used.map((u) => u.len)).toEqual([70, 2]);
    expect(s.h.mem.subarray(at, at + 64).every((b) => b === 0xee)).toBe(true);
  });

  it('gives back a whole queue of chains too small for a frame empty, drops it, and delivers the next', () => {
    const s = setup(1500, false, true);
    postRx(s, 16, HDR.SIZE); // 16 x 12 bytes: not even one frame byte each
    s.backend.inject(ethFrame(200, 1));
    expect(usedBuffers(s.rx).map((u) => u.len)).toEqual(new Array(16).fill(0));
    expect(s.model.stats).toMatchObject({ rxFrames: 0, rxDropped: 1 });
    expect(s.h.logs.join('\n')).toMatch(/cannot hold a 200-byte frame/);
    const next = ethFrame(60, 2);
    s.backend.inject(next);
    postRx(s, 1, 100);
    expect(mergedFrames(s, usedBuffers(s.rx)).map((g) => g.frame)).toEqual([next]);
    expect(s.h.needsReset()).toBe(false);
  });

  it('goes to DEVICE_NEEDS_RESET for a receive chain smaller than the header, and keeps the frame for after the reset', () => {
    for (const segs of [[[11, true]], [[64, false]], [[5, true], [6, true]]] as const) {
      const s = setup(1500, false, true);
      const f = ethFrame(60, 4);
      s.backend.inject(f);
      postChain(s, segs);
      expect(s.h.needsReset()).toBe(true);
      expect(s.h.logs.join('\n')).toMatch(/less than the 12-byte virtio-net header/);
      expect(usedBuffers(s.rx)).toEqual([]);
      // The guest resets and starts over; the frame it never got arrives then.
      s.h.driver.negotiate(featureBit(VIRTIO_NET_F_MRG_RXBUF));
      s.rx.reset();
      s.h.driver.setupQueue(VIRTIO_NET_RECEIVEQ, s.rx);
      s.h.driver.driverOk();
      postRx(s, 1, 1526);
      expect(mergedFrames(s, usedBuffers(s.rx)).map((g) => g.frame)).toEqual([f]);
    }
  });

  it('forgets chains taken for a frame when the guest resets, and writes nothing more into them', () => {
    const s = setup(1500, false, true);
    const f = ethFrame(1000, 6);
    const [a] = postRx(s, 1, 600);
    s.backend.inject(f);
    s.h.driver.negotiate(featureBit(VIRTIO_NET_F_MRG_RXBUF));
    s.h.mem.fill(0, a!, a! + 600);
    s.rx.reset();
    s.h.driver.setupQueue(VIRTIO_NET_RECEIVEQ, s.rx);
    s.h.driver.driverOk();
    postRx(s, 2, 600);
    const used = usedBuffers(s.rx);
    expect(used.every((u) => u.at !== a)).toBe(true);
    expect(s.h.mem.subarray(a!, a! + 600).every((b) => b === 0)).toBe(true);
    expect(mergedFrames(s, used).map((g) => g.frame)).toEqual([f]);
  });

  it('without MRG_RXBUF negotiated keeps one chain per frame and drops what does not fit', () => {
    const s = setup(1500, false, false);
    postRx(s, 2, 100);
    s.backend.inject(ethFrame(1000, 1));
    s.backend.inject(ethFrame(60, 2));
    const used = usedBuffers(s.rx);
    expect(used.map((u) => u.len)).toEqual([0, 72]);
    expect(new DataView(s.h.memory).getUint16(used[1]!.at + HDR.num_buffers.offset, true)).toBe(1);
    expect(s.model.stats).toMatchObject({ rxFrames: 1, rxDropped: 1, rxMerged: 0 });
  });
});

/** An Ethernet/IPv4/UDP frame with `n` payload bytes and correct checksums. */
function udpFrame(n: number): Uint8Array {
  const f = new Uint8Array(42 + n);
  f.set([...MAC, ...MAC, 0x08, 0x00]);
  f.set([0x45, 0, (28 + n) >> 8, (28 + n) & 0xff, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 2, 15, 10, 0, 2, 2], 14);
  const ipSum = internetChecksum(f, 14, 34);
  f[24] = ipSum >> 8;
  f[25] = ipSum & 0xff;
  f.set([0x30, 0x39, 0, 53, (8 + n) >> 8, (8 + n) & 0xff, 0, 0], 34);
  for (let i = 0; i < n; i++) f[42 + i] = (i * 31 + 7) & 0xff;
  const pseudo = onesSum(Uint8Array.of(...f.subarray(26, 34), 0, 17, (8 + n) >> 8, (8 + n) & 0xff), 0, 12);
  const sum = internetChecksum(f, 34, f.length, pseudo) || 0xffff;
  f[40] = sum >> 8;
  f[41] = sum & 0xff;
  return f;
}

describe('the device-side Internet checksum (netChecksum.ts)', () => {
  it('equals a plain 16-bit word sum for every alignment, length and content', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1600 }), fc.nat(7), fc.nat(0xffff), (bytes, shift, acc) => {
        const b = new Uint8Array(bytes.length + 8).subarray(shift, shift + bytes.length);
        b.set(bytes);
        let s = acc;
        for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (i + 1 < b.length ? b[i + 1]! : 0);
        while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
        expect(onesSum(b, 0, b.length, acc)).toBe(s);
      }),
    );
  });
});
