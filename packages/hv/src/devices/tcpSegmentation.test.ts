/**
 * TCP segmentation offload on the device side (VIRTIO_NET_F_HOST_TSO4,
 * virtio-v1.2 §5.1.6.2): a property over random payloads, MSS values, flags
 * and IPv4/TCP option lengths that the segments reassemble to the frame's
 * payload and follow the per-segment rules, each checked with a checksum
 * written here from RFC 1071; the frames segmentTcp4 must refuse; and the
 * device: offered with CSUM by default, not with offloads off or csum only,
 * segments before the backend sees anything, and drops (counts) what a
 * hostile guest gets wrong without a reset.
 */
import {
  VIRTIO_F_EVENT_IDX,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_HOST_TSO4,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_UDP,
  VIRTIO_NET_HDR_LAYOUT as HDR,
  VIRTIO_NET_RECEIVEQ,
  VIRTIO_NET_TRANSMITQ,
  featureBit,
} from '@osv-ts/virtio';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeviceHarness } from '../testing/deviceHarness.js';
import { FakeNetBackend } from '../testing/fakeNetBackend.js';
import { createNetDevice, type NetDeviceOptions, type NetModel } from './netDevice.js';
import { segmentTcp4, TSO_MAX_FRAME, type TsoRequest } from './tcpSegmentation.js';

const get16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const get32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** RFC 1071 one's complement sum of `b[off, end)` plus `acc`, folded; a byte loop, independent of netChecksum.ts. */
function sum16(b: Uint8Array, off: number, end: number, acc = 0): number {
  let s = acc;
  for (let i = off; i < end; i += 2) s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

interface Spec {
  readonly ipOpt: number; // IPv4 option bytes (multiple of 4)
  readonly tcpOpt: number; // TCP option bytes (multiple of 4)
  readonly payload: number;
  readonly mtu: number;
  readonly mss: number;
  readonly flags: number;
  readonly id: number;
  readonly seq: number;
  readonly fill: number;
}

/** A GSO TCP/IPv4 frame by `s` (payload bytes i*fill+i>>8), and the request a correct guest makes for it. */
function tsoFrame(s: Spec): { frame: Uint8Array; req: TsoRequest } {
  const l4 = 14 + 20 + s.ipOpt;
  const hdrs = l4 + 20 + s.tcpOpt;
  const f = new Uint8Array(hdrs + s.payload);
  f.set([0x52, 0x55, 10, 0, 2, 2, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0x00]);
  f.set([0x40 | ((20 + s.ipOpt) >>> 2), 0, (f.length - 14) >>> 8, (f.length - 14) & 0xff, s.id >>> 8, s.id & 0xff, 0x40, 0, 64, 6, 0xde, 0xad, 10, 0, 2, 15, 10, 0, 2, 2], 14);
  for (let i = 0; i < s.ipOpt; i++) f[34 + i] = 1; // NOPs
  f.set([0x9c, 0x40, 0x1f, 0x90, s.seq >>> 24, (s.seq >>> 16) & 0xff, (s.seq >>> 8) & 0xff, s.seq & 0xff, 0, 0, 0x12, 0x34, ((20 + s.tcpOpt) >>> 2) << 4, s.flags, 0xff, 0xff, 0xbe, 0xef, 0, 7], l4);
  for (let i = 0; i < s.tcpOpt; i++) f[l4 + 20 + i] = 1;
  for (let i = 0; i < s.payload; i++) f[hdrs + i] = (i * s.fill + (i >>> 8)) & 0xff;
  return { frame: f, req: { length: f.length, hdrLen: hdrs, gsoSize: s.mss, csumStart: l4, csumOffset: 16, mtu: s.mtu } };
}

const specArb = fc
  .record({
    ipOpt: fc.integer({ min: 0, max: 10 }).map((n) => n * 4),
    tcpOpt: fc.integer({ min: 0, max: 10 }).map((n) => n * 4),
    mtu: fc.oneof(fc.constant(1500), fc.integer({ min: 576, max: 9000 })),
    flags: fc.nat(255),
    id: fc.nat(65535),
    seq: fc.oneof(fc.nat(0xffffffff), fc.constant(0xffffff00)),
    fill: fc.integer({ min: 1, max: 251 }),
    mssPick: fc.double({ min: 0, max: 1, noNaN: true }),
    payloadPick: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(1), fc.constant(0)),
  })
  .map((r): Spec => {
    const hdrs = 14 + 40 + r.ipOpt + r.tcpOpt;
    const maxMss = r.mtu - 40 - r.ipOpt - r.tcpOpt;
    const mss = Math.max(1, Math.round(r.mssPick * maxMss));
    // At most 3000 segments, so tiny MSS values still run quickly.
    return { ...r, mss, payload: Math.round(r.payloadPick * Math.min(TSO_MAX_FRAME - hdrs, 3000 * mss)) };
  });

describe('segmentTcp4 (virtio-v1.2 §5.1.6.2, as tcp_gso_segment)', () => {
  it('segments reassemble to the payload, fit the MTU, and carry the right lengths, ids, sequence numbers, flags and checksums', () => {
    fc.assert(
      fc.property(specArb, (s) => {
        const { frame, req } = tsoFrame(s);
        const orig = frame.slice();
        const l4 = req.csumStart;
        const hdrs = req.hdrLen;
        const segs: Uint8Array[] = [];
        const out = new Uint8Array(14 + s.mtu + 4);
        const n = segmentTcp4(frame, req, out, (seg, len) => void segs.push(seg.slice(0, len)));
        expect(n).toBe(segs.length);
        expect(segs.length).toBe(Math.max(1, Math.ceil(s.payload / s.mss)));
        expect(frame).toEqual(orig); // the guest's bytes are read, never written
        let at = 0;
        const problems: string[] = [];
        const check = (ok: boolean, what: string, i: number): void => void (ok || problems.length > 0 || problems.push(`segment ${i}: ${what}`));
        segs.forEach((g, i) => {
          const last = i === segs.length - 1;
          check(g.length <= 14 + s.mtu, `length ${g.length} over the MTU`, i);
          check(get16(g, 16) === g.length - 14, 'IPv4 total length', i);
          check(get16(g, 18) === ((s.id + i) & 0xffff), 'IPv4 id', i);
          check(get32(g, l4 + 4) === ((s.seq + at) >>> 0), 'sequence number', i);
          let want = s.flags;
          if (!last) want &= ~0x09;
          if (i > 0) want &= ~0x80;
          check(g[l4 + 13] === want, `flags 0x${g[l4 + 13]!.toString(16)}, want 0x${want.toString(16)}`, i);
          check(sum16(g, 14, l4) === 0xffff, 'IPv4 header checksum', i);
          check(sum16(g, l4, g.length, sum16(g, 26, 34) + 6 + g.length - l4) === 0xffff, 'TCP checksum', i);
          // Every other header byte is the guest's.
          for (let k = 0; k < hdrs; k++) {
            const mine = k === 16 || k === 17 || k === 18 || k === 19 || k === 24 || k === 25 || (k >= l4 + 4 && k < l4 + 8) || k === l4 + 13 || k === l4 + 16 || k === l4 + 17;
            if (!mine) check(g[k] === orig[k], `header byte ${k} changed`, i);
          }
          for (let k = hdrs; k < g.length; k++) check(g[k] === orig[at + k], `payload byte ${at + k - hdrs}`, i);
          if (!last) check(g.length - hdrs === s.mss, 'a segment before the last is not MSS-sized', i);
          at += g.length - hdrs;
        });
        expect(problems).toEqual([]);
        expect(at).toBe(s.payload);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses frames that are not one plain TCP/IPv4 packet or whose metadata does not describe them, emitting nothing', () => {
    const base: Spec = { ipOpt: 0, tcpOpt: 12, payload: 5000, mtu: 1500, mss: 1448, flags: 0x18, id: 1, seq: 1, fill: 3 };
    const out = new Uint8Array(1518);
    const bad: [string, (f: Uint8Array, r: TsoRequest) => TsoRequest][] = [
      ['VLAN', (f, r) => ((f[12] = 0x81), r)],
      ['IPv6 version', (f, r) => ((f[14] = 0x65), r)],
      ['IHL 4', (f, r) => ((f[14] = 0x44), r)],
      ['UDP', (f, r) => ((f[23] = 17), r)],
      ['fragment', (f, r) => ((f[20] = 0x20), r)],
      ['fragment offset', (f, r) => ((f[21] = 1), r)],
      ['total length short', (f, r) => ((f[17]! -= 1), r)],
      ['data offset 4', (f, r) => ((f[46] = 0x40), r)],
      ['data offset past the frame', (f, r) => ((f[46] = 0xf0), { ...r, length: 14 + 20 + 40, hdrLen: 74 })],
      ['hdr_len short', (_f, r) => ({ ...r, hdrLen: r.hdrLen - 1 })],
      ['hdr_len past the frame', (_f, r) => ({ ...r, hdrLen: r.length + 1 })],
      ['gso_size 0', (_f, r) => ({ ...r, gsoSize: 0 })],
      ['gso_size past the MTU', (_f, r) => ({ ...r, gsoSize: 1500 - 20 - 32 + 1 })],
      ['csum_start', (_f, r) => ({ ...r, csumStart: 35 })],
      ['csum_offset', (_f, r) => ({ ...r, csumOffset: 6 })],
      ['too short', (_f, r) => ({ ...r, length: 53 })],
      ['longer than 64 KiB', (_f, r) => ({ ...r, length: TSO_MAX_FRAME + 1 })],
    ];
    for (const [what, mutate] of bad) {
      const { frame, req } = tsoFrame(base);
      let emitted = 0;
      const big = new Uint8Array(TSO_MAX_FRAME + 2);
      big.set(frame);
      const r = segmentTcp4(big, mutate(big, req), out, () => void emitted++);
      expect(typeof r, what).toBe('string');
      expect(emitted, what).toBe(0);
    }
    const { frame, req } = tsoFrame(base);
    expect(segmentTcp4(frame, req, out, () => {})).toBe(4);
    expect(segmentTcp4(frame, { ...req, hdrLen: req.length }, out, () => {})).toBe(4); // hdr_len is only a lower bound (5.1.6.2.1)
  });
});

const MAC = Uint8Array.of(0x52, 0x54, 0, 1, 2, 3);
const WANT = featureBit(VIRTIO_F_EVENT_IDX) | featureBit(VIRTIO_NET_F_MAC) | featureBit(VIRTIO_NET_F_STATUS) | featureBit(VIRTIO_NET_F_MTU) | featureBit(VIRTIO_NET_F_CSUM) | featureBit(VIRTIO_NET_F_HOST_TSO4);

/** A device with `options` and a driver that accepts CSUM and HOST_TSO4 when offered. */
function device(options: Partial<NetDeviceOptions> = {}) {
  const backend = new FakeNetBackend();
  let model!: NetModel;
  const h = new DeviceHarness(1 << 22, (w) => {
    const m = createNetDevice(backend, w, { mac: MAC, mergeableRxBuffers: false, ...options });
    model = m.model;
    return m.device;
  });
  h.driver.probe();
  h.driver.negotiate(WANT);
  h.driver.createQueue(VIRTIO_NET_RECEIVEQ, h.memory, h.dma, { maxSize: 16 });
  const tx = h.driver.createQueue(VIRTIO_NET_TRANSMITQ, h.memory, h.dma, { maxSize: 128 });
  h.driver.driverOk();
  /** One transmit chain: header fields, then the frame in buffers of at most `piece` bytes. */
  const send = (frame: Uint8Array, hdr: { flags?: number; gso?: number; hdrLen?: number; gsoSize?: number; csumStart?: number; csumOffset?: number }, piece = 4096): void => {
    const at = h.dma.alloc(HDR.SIZE + frame.length, 16);
    const v = new DataView(h.mem.buffer);
    h.mem.fill(0, at, at + HDR.SIZE);
    h.mem[at + HDR.flags.offset] = hdr.flags ?? VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.mem[at + HDR.gso_type.offset] = hdr.gso ?? VIRTIO_NET_HDR_GSO_TCPV4;
    v.setUint16(at + HDR.hdr_len.offset, hdr.hdrLen ?? 0, true);
    v.setUint16(at + HDR.gso_size.offset, hdr.gsoSize ?? 0, true);
    v.setUint16(at + HDR.csum_start.offset, hdr.csumStart ?? 0, true);
    v.setUint16(at + HDR.csum_offset.offset, hdr.csumOffset ?? 0, true);
    h.mem.set(frame, at + HDR.SIZE);
    tx.begin();
    tx.push(at, HDR.SIZE, false);
    for (let o = 0; o < frame.length; o += piece) tx.push(at + HDR.SIZE + o, Math.min(piece, frame.length - o), false);
    expect(tx.commit(at)).toBeGreaterThanOrEqual(0);
    h.driver.kick(VIRTIO_NET_TRANSMITQ);
  };
  return { h, backend, model: () => model, send };
}

const spec: Spec = { ipOpt: 0, tcpOpt: 12, payload: 60_000, mtu: 1500, mss: 1448, flags: 0x18 | 0x80 | 0x01, id: 0xfffe, seq: 0xfffff000, fill: 7 };

describe('virtio-net device with HOST_TSO4', () => {
  it('offers HOST_TSO4 with CSUM by default, and neither with offloads off, CSUM alone with offloads csum', () => {
    const on = device();
    expect(on.h.driver.features & featureBit(VIRTIO_NET_F_HOST_TSO4)).not.toBe(0n);
    expect(on.h.driver.features & featureBit(VIRTIO_NET_F_CSUM)).not.toBe(0n);
    const csum = device({ offloads: 'csum' });
    expect(csum.h.driver.features & featureBit(VIRTIO_NET_F_HOST_TSO4)).toBe(0n);
    expect(csum.h.driver.features & featureBit(VIRTIO_NET_F_CSUM)).not.toBe(0n);
    const off = device({ offloads: false });
    expect(off.model().features & (featureBit(VIRTIO_NET_F_HOST_TSO4) | featureBit(VIRTIO_NET_F_CSUM))).toBe(0n);
  });

  it('cuts a 64 KiB GSO frame spread over many buffers into MTU-sized segments before the backend sees it', () => {
    const d = device();
    const { frame, req } = tsoFrame(spec);
    d.send(frame, { hdrLen: req.hdrLen, gsoSize: req.gsoSize, csumStart: req.csumStart, csumOffset: 16 }, 1000);
    const segs = d.backend.sent;
    expect(segs.length).toBe(Math.ceil(60_000 / 1448));
    expect(segs.every((g) => g.length <= 1514)).toBe(true);
    expect(segs.every((g) => sum16(g, 34, g.length, sum16(g, 26, 34) + 6 + g.length - 34) === 0xffff)).toBe(true);
    expect(Buffer.concat(segs.map((g) => g.subarray(req.hdrLen)))).toEqual(Buffer.from(frame.subarray(req.hdrLen)));
    expect(d.model().stats).toMatchObject({ txTso: 1, txTsoSegments: segs.length, txFrames: segs.length, txBadOffload: 0 });
    expect(d.h.needsReset()).toBe(false);
  });

  it('drops and counts GSO requests a guest gets wrong, without a reset, and segments the next good one', () => {
    const d = device();
    const { frame, req } = tsoFrame(spec);
    const good = { hdrLen: req.hdrLen, gsoSize: req.gsoSize, csumStart: req.csumStart, csumOffset: 16 };
    d.send(frame, { ...good, flags: 0 }); // no NEEDS_CSUM
    d.send(frame, { ...good, gso: VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN }); // HOST_ECN not offered
    d.send(frame, { ...good, gso: VIRTIO_NET_HDR_GSO_UDP });
    d.send(frame, { ...good, gsoSize: 1500 });
    d.send(frame, { ...good, hdrLen: 20 });
    d.send(frame, { ...good, csumStart: 14 });
    const udp = frame.slice();
    udp[23] = 17;
    d.send(udp, good);
    expect(d.backend.sent).toEqual([]);
    expect(d.model().stats.txBadOffload).toBe(7);
    expect(d.h.needsReset()).toBe(false);
    d.send(frame, good);
    expect(d.backend.sent.length).toBe(Math.ceil(60_000 / 1448));
  });

  it('drops GSO frames when HOST_TSO4 was not negotiated, even if offered', () => {
    const backend = new FakeNetBackend();
    let model!: NetModel;
    const h = new DeviceHarness(1 << 21, (w) => {
      const m = createNetDevice(backend, w, { mac: MAC });
      model = m.model;
      return m.device;
    });
    h.driver.probe();
    h.driver.negotiate(WANT & ~featureBit(VIRTIO_NET_F_HOST_TSO4));
    h.driver.createQueue(VIRTIO_NET_RECEIVEQ, h.memory, h.dma, { maxSize: 16 });
    const tx = h.driver.createQueue(VIRTIO_NET_TRANSMITQ, h.memory, h.dma, { maxSize: 16 });
    h.driver.driverOk();
    const { frame } = tsoFrame({ ...spec, payload: 1000 });
    const at = h.dma.alloc(HDR.SIZE + frame.length, 16);
    h.mem[at + HDR.flags.offset] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.mem[at + HDR.gso_type.offset] = VIRTIO_NET_HDR_GSO_TCPV4;
    h.mem.set(frame, at + HDR.SIZE);
    expect(tx.add(at, HDR.SIZE + frame.length, false, at)).toBeGreaterThanOrEqual(0);
    h.driver.kick(VIRTIO_NET_TRANSMITQ);
    expect(backend.sent).toEqual([]);
    expect(model.stats.txBadOffload).toBe(1);
  });
});
