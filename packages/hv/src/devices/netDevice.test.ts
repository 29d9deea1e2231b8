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
  VIRTIO_NET_HDR_LAYOUT as HDR,
  VIRTIO_NET_RECEIVEQ,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_NET_TRANSMITQ,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_MMIO_INT_CONFIG,
  featureBit,
} from '@osv-ts/virtio';
import type { VirtqueueDriver } from '@osv-ts/virtio/driver';
import { describe, expect, it } from 'vitest';
import { DeviceHarness } from '../testing/deviceHarness.js';
import { FakeNetBackend } from '../testing/fakeNetBackend.js';
import { createNetDevice, type NetModel } from './netDevice.js';

const MAC = Uint8Array.of(0x52, 0x54, 0, 1, 2, 3);

function setup(mtu = 1500) {
  const backend = new FakeNetBackend();
  let model!: NetModel;
  const h = new DeviceHarness(1 << 21, (w) => {
    const m = createNetDevice(backend, w, { mac: MAC, mtu });
    model = m.model;
    return m.device;
  });
  h.driver.probe();
  h.driver.negotiate(featureBit(VIRTIO_F_EVENT_IDX) | featureBit(VIRTIO_NET_F_MAC) | featureBit(VIRTIO_NET_F_STATUS) | featureBit(VIRTIO_NET_F_MTU) | featureBit(VIRTIO_NET_F_CSUM) | featureBit(VIRTIO_NET_F_MRG_RXBUF));
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
function transmit(s: ReturnType<typeof setup>, frame: Uint8Array, hdr: Partial<Record<'flags' | 'gso_type', number>> = {}): void {
  const { h, tx } = s;
  const at = h.dma.alloc(HDR.SIZE + frame.length, 16);
  h.mem.fill(0, at, at + HDR.SIZE);
  h.mem[at + HDR.flags.offset] = hdr.flags ?? 0;
  h.mem[at + HDR.gso_type.offset] = hdr.gso_type ?? 0;
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
  it('offers MAC, STATUS and MTU but no offloads or mergeable buffers, with its configuration', () => {
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

  it('drops frames too short, too long, or asking for offloads that were never offered', () => {
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
});
