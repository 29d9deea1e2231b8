/**
 * The virtio-net driver against a small device model on the virtio
 * package's real device-side transport: configuration (MAC, MTU, link),
 * transmit and its errors, both ways of receiving (a receiver in the
 * receive path, receive() with and without a timeout), link changes; and,
 * with a netchannel stack on each side of the device, zero-copy receive into
 * the stack's mbufs in guest memory (including running out of mbufs) and
 * transmit checksum offload (VIRTIO_NET_F_CSUM).
 */
import {
  VIRTIO_ID_NET,
  VIRTIO_NET_CONFIG_LAYOUT,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_LAYOUT,
  VIRTIO_NET_RECEIVEQ,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_NET_TRANSMITQ,
  featureBit,
} from '@osv-ts/virtio';
import { ConfigSpace, type DescriptorChain, type VirtioDeviceModel, type VirtioTransport, type VirtqueueDevice } from '@osv-ts/virtio/device';
import { MBUF_SIZE, MbufPool, NetStack, VirtualClock, seededEntropy, type LinkReceiver, type TcpSocket } from '@osv-ts/netchannel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readToEnd, virtioNetOverModel, writePattern } from '../host/virtioNetHarness.js';
import { NET_ERRNO } from './netDevice.js';
import type { VirtioNetOptions } from './virtioNet.js';

const HDR = VIRTIO_NET_HDR_LAYOUT.SIZE;

/** The Internet checksum of `b[off, end)` (RFC 1071), complemented: what goes in the field. */
function inetChecksum(b: Uint8Array, off: number, end: number): number {
  let s = 0;
  for (let i = off; i < end; i += 2) s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

class MiniNet implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_NET;
  readonly features: bigint;
  readonly queueCount = 2;
  readonly configSize = VIRTIO_NET_CONFIG_LAYOUT.SIZE;
  readonly config = new ConfigSpace(VIRTIO_NET_CONFIG_LAYOUT);
  readonly sent: Uint8Array[] = [];
  /** Transmitted frames that asked for NEEDS_CSUM (completed here, as a device does). */
  csumRequests = 0;
  /** Guest-physical address of the buffer each received frame was written to. */
  readonly rxAddresses: number[] = [];
  /** Frames the peer sent while the guest had no receive buffer: delivered when it posts one. */
  readonly held: Uint8Array[] = [];
  /** Where transmitted frames go (the peer), besides `sent` when null. */
  onSend: ((f: Uint8Array) => void) | null = null;
  /** Receive buffers each delivered frame took (more than 1 only under MRG_RXBUF). */
  readonly rxSpans: number[] = [];
  /** Chains taken for the frame being placed under MRG_RXBUF, kept while the ring is dry (as the hv device does). */
  private taken: { head: number; chain: DescriptorChain }[] = [];
  transport!: VirtioTransport;
  constructor(csum = false, mrg = false) {
    this.features =
      featureBit(VIRTIO_NET_F_MAC) | featureBit(VIRTIO_NET_F_STATUS) | featureBit(VIRTIO_NET_F_MTU) | (csum ? featureBit(VIRTIO_NET_F_CSUM) : 0n) | (mrg ? featureBit(VIRTIO_NET_F_MRG_RXBUF) : 0n);
    this.config.setBytes('mac', Uint8Array.of(2, 0, 0, 0, 0, 7));
    this.config.set('mtu', 1500);
    this.config.set('status', VIRTIO_NET_S_LINK_UP);
  }
  attach(t: VirtioTransport): void {
    this.transport = t;
  }
  queueMaxSize(): number {
    return 256;
  }
  configRead(offset: number, size: 1 | 2 | 4): number {
    return this.config.read(offset, size);
  }
  queueNotify(i: number, q: VirtqueueDevice): void {
    if (i === VIRTIO_NET_RECEIVEQ) this.deliverHeld();
    if (i !== VIRTIO_NET_TRANSMITQ) return;
    for (let h = q.pop(); h >= 0; h = q.pop()) {
      const hdr = new Uint8Array(HDR);
      q.chain.read(hdr);
      const f = new Uint8Array(q.chain.readableBytes - HDR);
      q.chain.read(f, HDR);
      if ((hdr[VIRTIO_NET_HDR_LAYOUT.flags.offset]! & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0) {
        const start = hdr[VIRTIO_NET_HDR_LAYOUT.csum_start.offset]! | (hdr[VIRTIO_NET_HDR_LAYOUT.csum_start.offset + 1]! << 8);
        const at = start + (hdr[VIRTIO_NET_HDR_LAYOUT.csum_offset.offset]! | (hdr[VIRTIO_NET_HDR_LAYOUT.csum_offset.offset + 1]! << 8));
        const sum = inetChecksum(f, start, f.length);
        f[at] = sum >>> 8;
        f[at + 1] = sum & 0xff;
        this.csumRequests++;
      }
      q.pushUsed(h, 0);
      if (this.onSend) this.onSend(f);
      else this.sent.push(f);
    }
    this.transport.flush(VIRTIO_NET_TRANSMITQ);
  }
  /** The peer sends a frame: into a receive buffer now, or held until the guest posts one. */
  send(frame: Uint8Array): void {
    if (this.held.length > 0 || !this.inject(frame)) this.held.push(frame.slice());
  }
  private deliverHeld(): void {
    while (this.held.length > 0 && this.inject(this.held[0]!)) this.held.shift();
  }
  /** The peer sends a frame; false when the guest has no receive buffer (or, under MRG_RXBUF, too few yet). */
  inject(frame: Uint8Array): boolean {
    if (this.transport.hasFeature(VIRTIO_NET_F_MRG_RXBUF)) return this.injectMerged(frame);
    const q = this.transport.queue(VIRTIO_NET_RECEIVEQ);
    const h = q ? q.pop() : -1;
    if (!q || h < 0) return false;
    const hdr = new Uint8Array(HDR);
    hdr[VIRTIO_NET_HDR_LAYOUT.num_buffers.offset] = 1;
    this.rxAddresses.push(q.chain.segmentAddress(0));
    q.chain.write(hdr);
    q.chain.write(frame, HDR);
    q.pushUsed(h, HDR + frame.length);
    this.rxSpans.push(1);
    this.transport.flush(VIRTIO_NET_RECEIVEQ);
    return true;
  }
  /**
   * 5.1.6.4 with MRG_RXBUF, written independently of the hv's device: takes
   * chains until they hold header and frame, writes num_buffers into the
   * first, pushes every chain with its length, then one flush.
   */
  private injectMerged(frame: Uint8Array): boolean {
    const q = this.transport.queue(VIRTIO_NET_RECEIVEQ);
    if (!q) return false;
    const need = HDR + frame.length;
    let room = this.taken.reduce((n, t) => n + t.chain.writableBytes, 0);
    while (room < need) {
      const chain = q.createChain();
      const head = q.pop(chain);
      if (head < 0) return false;
      this.taken.push({ head, chain });
      room += chain.writableBytes;
    }
    const hdr = new Uint8Array(HDR);
    new DataView(hdr.buffer).setUint16(VIRTIO_NET_HDR_LAYOUT.num_buffers.offset, this.taken.length, true);
    this.taken[0]!.chain.write(hdr);
    let done = 0;
    this.taken.forEach(({ head, chain }, i) => {
      const skip = i === 0 ? HDR : 0;
      const n = chain.write(frame.subarray(done), skip);
      done += n;
      q.pushUsed(head, skip + n);
    });
    this.rxAddresses.push(this.taken[0]!.chain.segmentAddress(0));
    this.rxSpans.push(this.taken.length);
    this.taken = [];
    this.transport.flush(VIRTIO_NET_RECEIVEQ);
    return true;
  }
  /**
   * A misbehaving device: pops one chain per entry of `pieces` and writes
   * it, the first behind a header with `numBuffers` (none when null: the
   * pieces continue a frame), pushes them all and flushes. Throws when the
   * ring has too few chains (the test posts enough).
   */
  injectRaw(pieces: readonly Uint8Array[], numBuffers: number | null): void {
    const q = this.transport.queue(VIRTIO_NET_RECEIVEQ);
    if (!q) throw new Error('injectRaw: no receive queue');
    const chains: { head: number; chain: DescriptorChain }[] = [];
    for (let i = 0; i < pieces.length; i++) {
      const chain = q.createChain();
      const head = q.pop(chain);
      if (head < 0) throw new Error('injectRaw: the guest has too few receive buffers posted');
      chains.push({ head, chain });
    }
    chains.forEach(({ head, chain }, i) => {
      let n = 0;
      if (i === 0 && numBuffers !== null) {
        const hdr = new Uint8Array(HDR);
        new DataView(hdr.buffer).setUint16(VIRTIO_NET_HDR_LAYOUT.num_buffers.offset, numBuffers, true);
        n = chain.write(hdr);
      }
      n += chain.write(pieces[i]!, n);
      q.pushUsed(head, n);
    });
    this.transport.flush(VIRTIO_NET_RECEIVEQ);
  }
  setLink(up: boolean): void {
    this.config.set('status', up ? VIRTIO_NET_S_LINK_UP : 0);
    this.transport.configChanged();
  }
  reset(): void {
    this.taken = [];
  }
}

/** A driver over MiniNet; `mrg`: the device offers MRG_RXBUF; `options`: the driver's. */
function machine(csum = false, mrg = false, options: VirtioNetOptions = {}) {
  const model = new MiniNet(csum, mrg);
  const { net, memory } = virtioNetOverModel(model, options);
  return { net, model, memory };
}

const frame = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

describe('VirtioNet driver', () => {
  it('reads MAC, MTU and link status from the configuration space', () => {
    const { net } = machine();
    expect(Array.from(net.mac)).toEqual([2, 0, 0, 0, 0, 7]);
    expect(net.mtu).toBe(1500);
    expect(net.linkUp).toBe(true);
    expect(net.name).toBe('eth0');
  });

  it('transmits frames, and refuses what it cannot send with a negative errno', () => {
    const { net, model } = machine();
    expect(net.transmit(frame(60, 1))).toBe(0);
    expect(net.transmit(frame(100, 2), 10, 60)).toBe(0);
    expect(model.sent).toEqual([frame(60, 1), frame(60, 2)]);
    expect(net.transmit(frame(13, 0))).toBe(-NET_ERRNO.EMSGSIZE);
    expect(net.transmit(frame(1519, 0))).toBe(-NET_ERRNO.EMSGSIZE);
    expect(net.transmit(frame(60, 0), 10, 60)).toBe(-NET_ERRNO.EINVAL);
    for (let i = 0; i < 500; i++) expect(net.transmit(frame(60, i & 0xff))).toBe(0); // buffers are reclaimed
  });

  it('receive() returns a queued frame, waits for the next one, or times out with null', async () => {
    const { net, model } = machine();
    expect(model.inject(frame(60, 3))).toBe(true);
    expect(await net.receive()).toEqual(frame(60, 3));
    const later = net.receive(1000);
    await null;
    model.inject(frame(70, 4));
    expect(await later).toEqual(frame(70, 4));
    expect(await net.receive(5)).toBeNull();
    expect(await net.receive(0)).toBeNull();
  });

  it('hands frames to a receiver in place, keeps its receive buffers posted, and stops when removed', async () => {
    const { net, model } = machine();
    const got: number[] = [];
    net.setReceiver({ receiveFrame: (f, off, len) => void got.push(len, f[off]!) });
    for (let i = 0; i < 300; i++) {
      expect(model.inject(frame(60 + (i % 5), i & 0xff))).toBe(true); // 300 > the 128 posted buffers: they come back
      for (let k = 0; k < 3; k++) await null;
    }
    expect(got.length).toBe(600);
    expect(got.slice(0, 4)).toEqual([60, 0, 61, 1]);
    net.setReceiver(null);
  });

  it('follows link changes and reports ENETDOWN while the link is down', async () => {
    const { net, model } = machine();
    const pending = net.receive(50);
    model.setLink(false);
    await pending;
    expect(net.linkUp).toBe(false);
    expect(net.transmit(frame(60, 1))).toBe(-NET_ERRNO.ENETDOWN);
  });
});

/** Where the guest stack's packet pool sits in the 16 MiB test memory (the DMA allocator stays far below). */
const POOL_AT = 8 << 20;
const POOL_BYTES = 4 << 20;
const GUEST = 0x0a000002;
const PEER = 0x0a000001;
/** Receive slots the driver keeps posted. */
const RX_SLOTS = 128;

/**
 * A guest stack over the driver, receiving into mbufs in guest memory as the
 * kernel wires it (kernelNet.ts), and a peer stack behind the device model.
 */
function stacks(csum: boolean, mbufCount?: number, mrg?: VirtioNetOptions) {
  const { net, model, memory } = machine(csum, mrg !== undefined, mrg);
  const clock = new VirtualClock();
  const guest = new NetStack({
    clock,
    timers: clock,
    entropy: seededEntropy(1),
    memory: { memory, byteOffset: POOL_AT, byteLength: POOL_BYTES, ...(mbufCount === undefined ? {} : { mbufCount }) },
  });
  const gif = guest.addInterface(net, { address: GUEST });
  expect(net.setMbufReceiver({ pool: guest.pool, mbufBytes: MBUF_SIZE, inputMbuf: (m) => gif.inputMbuf(m) })).toBe(true);
  let peerRx: LinkReceiver | null = null;
  model.onSend = (f) => peerRx?.receiveFrame(f, 0, f.length);
  const peer = new NetStack({ clock, timers: clock, entropy: seededEntropy(2) });
  peer.addInterface(
    {
      mac: Uint8Array.of(2, 0, 0, 0, 0, 9),
      mtu: 1500,
      transmit: (f, o, n) => (model.send(f.subarray(o, o + n)), 0),
      setReceiver: (r) => void (peerRx = r),
    },
    { address: PEER },
  );
  /** Runs promise jobs (the driver's poller is one) and virtual time until `done()`. */
  const until = async (done: () => boolean): Promise<void> => {
    for (let i = 0; !done(); i++) {
      if (i > 2_000_000) throw new Error('simulation did not finish');
      await null;
      if (i % 32 === 31 && !clock.runNext(clock.now() + 5)) clock.advance(5);
    }
  };
  /** Stops the driver's poller (it runs while a receiver is installed). */
  const stop = (): void => {
    net.setMbufReceiver(null);
    net.setReceiver(null);
  };
  return { net, model, guest, peer, clock, until, stop };
}

/** Accepted guest socket and connected peer socket on port 80. */
async function connect(t: ReturnType<typeof stacks>) {
  const l = t.guest.tcpSocket();
  l.bind(0, 80);
  l.listen(1);
  const c = t.peer.tcpSocket();
  let conn: TcpSocket | null = null;
  void l.accept().then((s) => (conn = s));
  let up = false;
  void c.connect(GUEST, 80).then(() => (up = true));
  await t.until(() => up && conn !== null);
  return { l, c, s: conn! };
}

describe('VirtioNet zero-copy receive into a netchannel stack', () => {
  it('hands the stack the mbufs the device wrote, and a long transfer leaks none', async () => {
    const t = stacks(false);
    try {
      const { l, c, s } = await connect(t);
      const BYTES = 3 << 20;
      let sent = '';
      let got: { bytes: number; sha: string } | null = null;
      void writePattern(c, BYTES, 16384).then((h) => (sent = h));
      void readToEnd(s).then((r) => (got = r));
      await t.until(() => got !== null && sent !== '');
      expect(got!.bytes).toBe(BYTES);
      expect(got!.sha).toBe(sent);
      // No frame took the copy path: the stack got every one in the mbuf the device wrote it to.
      expect(t.net.rxStats.copied).toBe(0);
      expect(t.guest.stats.noMbufs).toBe(0);
      expect(t.net.rxStats.zeroCopy).toBe(t.model.rxAddresses.length);
      expect(t.net.rxStats.zeroCopy).toBeGreaterThan(2000);
      expect(t.guest.stats.tcpInErrs).toBe(0);
      expect(t.model.rxAddresses.every((a) => a >= POOL_AT && a - 2 + MBUF_SIZE <= POOL_AT + POOL_BYTES)).toBe(true);
      await s.close();
      await c.close();
      await l.close();
      await t.until(() => t.guest.resources().connections === 0 && t.peer.resources().connections === 0);
      // No mbuf leaked: those in use are exactly the ones posted in the ring, and the ring is full again.
      expect(t.net.postedMbufs).toBe(RX_SLOTS);
      expect(t.guest.pool.inUse).toBe(t.net.postedMbufs);
    } finally {
      t.stop();
    }
  });

  it('runs with fewer posted buffers when mbufs run out, refills when they come back, and leaks nothing', async () => {
    // 128 slots + 8: the first flight of segments, held by the stack, runs the pool dry.
    const t = stacks(false, RX_SLOTS + 8);
    try {
      const { l, c, s } = await connect(t);
      s.setWaker({ wake: () => {} }); // segments wait in the socket's channel, holding their mbufs
      const BYTES = 1 << 20;
      let sent = '';
      void writePattern(c, BYTES, 16384).then((h) => (sent = h));
      await t.until(() => t.net.rxStats.refillFailures > 0);
      expect(t.net.postedMbufs).toBeLessThan(RX_SLOTS);
      expect(t.guest.pool.inUse).toBe(RX_SLOTS + 8);
      s.setWaker(null);
      s.processChannel();
      let got: { bytes: number; sha: string } | null = null;
      void readToEnd(s).then((r) => (got = r));
      await t.until(() => got !== null && sent !== '');
      expect(got!.bytes).toBe(BYTES);
      expect(got!.sha).toBe(sent);
      await s.close();
      await c.close();
      await l.close();
      await t.until(() => t.guest.resources().connections === 0 && t.net.postedMbufs === RX_SLOTS);
      expect(t.guest.pool.inUse).toBe(RX_SLOTS);
      // Detaching frees posted mbufs as they come back.
      t.net.setMbufReceiver(null);
      for (let i = 0; i < RX_SLOTS + 10; i++) t.model.send(new Uint8Array(60).fill(i));
      await t.until(() => t.net.postedMbufs === 0);
      expect(t.guest.pool.inUse).toBe(0);
    } finally {
      t.stop();
    }
  });

  it('refuses a pool that is not in its guest memory', () => {
    const { net } = machine();
    const clock = new VirtualClock();
    const elsewhere = new NetStack({ clock, timers: clock, entropy: seededEntropy(3) });
    expect(net.setMbufReceiver({ pool: elsewhere.pool, mbufBytes: MBUF_SIZE, inputMbuf: () => {} })).toBe(false);
    expect(net.setMbufReceiver({ pool: elsewhere.pool, mbufBytes: 1024, inputMbuf: () => {} })).toBe(false);
  });
});

/** A frame of `n` bytes whose every byte depends on its position and `seed`. */
const patterned = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed * 101 + (i >> 8)) & 0xff);

/** Runs promise jobs (the driver's poller) until `done()`. */
async function spin(done: () => boolean): Promise<void> {
  for (let i = 0; !done(); i++) {
    if (i > 200_000) throw new Error('the driver did not deliver');
    await null;
  }
}

/**
 * A driver whose frames go to `got`: through zero-copy mbufs of a pool in
 * guest memory (`zeroCopy`) or a receiver (the copy path).
 */
function receiving(zeroCopy: boolean, options: VirtioNetOptions) {
  const m = machine(false, true, options);
  const got: Uint8Array[] = [];
  const pool = new MbufPool({ memory: m.memory, byteOffset: POOL_AT, byteLength: POOL_BYTES });
  if (zeroCopy) {
    const input = (b: number): void => {
      got.push(pool.bytes.slice(pool.off(b), pool.off(b) + pool.len(b)));
      pool.free(b);
    };
    expect(m.net.setMbufReceiver({ pool, mbufBytes: MBUF_SIZE, inputMbuf: input })).toBe(true);
  } else m.net.setReceiver({ receiveFrame: (f, off, len) => void got.push(f.slice(off, off + len)) });
  /** Nothing leaked: every slot posted again and, on the zero-copy path, the mbufs in use are exactly those posted. */
  const idle = (): void => {
    expect(m.net.postedRxBuffers).toBe(RX_SLOTS);
    if (zeroCopy) {
      expect(m.net.postedMbufs).toBe(RX_SLOTS);
      expect(pool.inUse).toBe(m.net.postedMbufs);
    }
  };
  const stop = (): void => {
    m.net.setMbufReceiver(null);
    m.net.setReceiver(null);
  };
  return { ...m, got, pool, idle, stop };
}

describe('VirtioNet mergeable receive buffers (VIRTIO_NET_F_MRG_RXBUF)', () => {
  it('negotiates MRG_RXBUF only when offered, and refuses receive buffers smaller than the header', () => {
    expect(machine(false, false).net.rxMergeable).toBe(false);
    expect(machine(false, true).net.rxMergeable).toBe(true);
    for (const bad of [11, 0, 100.5, Number.NaN]) {
      expect(() => machine(false, true, { rxBufferBytes: bad })).toThrow(expect.objectContaining({ name: 'KernelError', code: 'EINVAL' }));
    }
  });

  it('without MRG_RXBUF posts whole-frame buffers whatever rxBufferBytes says', async () => {
    const { net, model } = machine(false, false, { rxBufferBytes: 100 });
    const f = patterned(1514, 1);
    expect(model.inject(f)).toBe(true);
    expect(model.rxSpans).toEqual([1]);
    expect(await net.receive()).toEqual(f);
    expect(net.rxStats.merged).toBe(0);
  });

  for (const zeroCopy of [false, true]) {
    it(`gathers a frame spanning buffers into one (${zeroCopy ? 'zero-copy mbufs' : 'copy path'}); a frame in one buffer takes the old path`, async () => {
      const t = receiving(zeroCopy, { rxBufferBytes: 100 });
      try {
        const frames = [patterned(1514, 1), patterned(60, 2), patterned(88, 3), patterned(89, 4)];
        for (const f of frames) t.model.send(f);
        await spin(() => t.got.length === frames.length);
        expect(t.got).toEqual(frames);
        expect(t.model.rxSpans).toEqual([16, 1, 1, 2]); // 12 + 1514 bytes over 100-byte buffers; 12 + 88 fills one exactly
        expect(t.net.rxStats).toMatchObject({ merged: 2, dropped: 0, zeroCopy: zeroCopy ? 2 : 0, copied: zeroCopy ? 0 : 4 });
        t.idle();
      } finally {
        t.stop();
      }
    });

    it(`drops frames with a bad num_buffers or too long for a slot, waits for the rest of a frame, and leaks nothing (${zeroCopy ? 'zero-copy' : 'copy path'})`, async () => {
      const t = receiving(zeroCopy, {});
      try {
        const good = [patterned(60, 1), patterned(70, 2), patterned(80, 3)];
        t.model.injectRaw([patterned(60, 9)], 0); // num_buffers 0
        t.model.send(good[0]!);
        t.model.injectRaw([patterned(60, 9)], RX_SLOTS + 1); // more buffers than the ring holds
        t.model.send(good[1]!);
        await spin(() => t.got.length === 2);
        expect(t.net.rxStats.dropped).toBe(2);
        // A frame in three buffers whose third comes later: the first waits, out of the ring, for the rest.
        const parts = [patterned(700, 4), patterned(700, 5), patterned(100, 6)];
        t.model.injectRaw(parts.slice(0, 2), 3);
        for (let i = 0; i < 200; i++) await null;
        expect(t.got.length).toBe(2);
        expect(t.net.postedRxBuffers).toBe(RX_SLOTS - 1);
        t.model.injectRaw(parts.slice(2), null);
        await spin(() => t.got.length === 3);
        expect(t.got[2]).toEqual(Uint8Array.from([...parts[0]!, ...parts[1]!, ...parts[2]!]));
        // Two buffers holding more than a slot can hold: dropped whole, and the next frame is fine.
        t.model.injectRaw([patterned(1500, 7), patterned(1500, 8)], 2);
        t.model.send(good[2]!);
        await spin(() => t.got.length === 4);
        expect(t.got).toEqual([good[0], good[1], t.got[2], good[2]]);
        expect(t.net.rxStats).toMatchObject({ dropped: 3, merged: 1 });
        t.idle();
      } finally {
        t.stop();
      }
    });
  }

  it('delivers random frames over random buffer sizes byte-identical and in order, on both paths, leaking nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 14, max: 1514 }), { minLength: 1, maxLength: 40 }),
        fc.option(fc.oneof(fc.integer({ min: 12, max: 64 }), fc.integer({ min: 12, max: 2100 })), { nil: undefined }),
        fc.boolean(),
        async (lens, rxBufferBytes, zeroCopy) => {
          const t = receiving(zeroCopy, rxBufferBytes === undefined ? {} : { rxBufferBytes });
          try {
            const frames = lens.map((n, i) => patterned(n, i));
            for (const f of frames) t.model.send(f);
            await spin(() => t.got.length === frames.length);
            expect(t.got).toEqual(frames);
            expect(t.net.rxStats.merged).toBe(t.model.rxSpans.filter((n) => n > 1).length);
            expect(t.net.rxStats.dropped).toBe(0);
            t.idle();
          } finally {
            t.stop();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('carries a multi-MiB TCP stream in frames spanning 2-4 buffers to the stack intact, and leaks nothing', async () => {
    const t = stacks(false, undefined, { rxBufferBytes: 512 });
    try {
      const { l, c, s } = await connect(t);
      const BYTES = 4 << 20;
      let sent = '';
      let got: { bytes: number; sha: string } | null = null;
      void writePattern(c, BYTES, 16384).then((h) => (sent = h));
      void readToEnd(s).then((r) => (got = r));
      await t.until(() => got !== null && sent !== '');
      expect(got!.bytes).toBe(BYTES);
      expect(got!.sha).toBe(sent);
      const spans = t.model.rxSpans;
      expect(Math.max(...spans)).toBeLessThanOrEqual(4);
      expect(spans.filter((n) => n >= 2).length).toBeGreaterThan(2000);
      expect(t.net.rxStats.merged).toBe(spans.filter((n) => n >= 2).length);
      expect(t.net.rxStats).toMatchObject({ dropped: 0, copied: 0 });
      expect(t.guest.stats.tcpInErrs).toBe(0);
      await s.close();
      await c.close();
      await l.close();
      await t.until(() => t.guest.resources().connections === 0 && t.peer.resources().connections === 0);
      expect(t.net.postedMbufs).toBe(RX_SLOTS);
      expect(t.net.postedRxBuffers).toBe(RX_SLOTS);
      expect(t.guest.resources().mbufsInUse).toBe(t.net.postedMbufs);
    } finally {
      t.stop();
    }
  });
});

describe('VirtioNet transmit checksum offload (VIRTIO_NET_F_CSUM)', () => {
  it('negotiates CSUM only when offered, and refuses offsets outside the frame', () => {
    expect(machine(false).net.txChecksumOffload).toBe(false);
    const { net, model } = machine(true);
    expect(net.txChecksumOffload).toBe(true);
    const f = new Uint8Array(60);
    expect(net.transmitOffload(f, 0, 60, 34, 16)).toBe(0);
    expect(net.transmitOffload(f, 0, 60, 34, 25)).toBe(-NET_ERRNO.EINVAL);
    expect(net.transmitOffload(f, 0, 60, 10, 0)).toBe(-NET_ERRNO.EINVAL);
    expect(model.csumRequests).toBe(1);
    expect(machine(false).net.transmitOffload(f, 0, 60, 34, 16)).toBe(-NET_ERRNO.EINVAL);
  });

  it('a stack over the device leaves TCP checksums to it and the peer verifies them', async () => {
    const t = stacks(true);
    try {
      const { l, c, s } = await connect(t);
      let sent = '';
      let got: { bytes: number; sha: string } | null = null;
      void writePattern(s, 1 << 20, 16384).then((h) => (sent = h)); // guest -> peer
      void readToEnd(c).then((r) => (got = r));
      await t.until(() => got !== null && sent !== '');
      expect(got!.sha).toBe(sent);
      expect(t.model.csumRequests).toBeGreaterThan(700);
      expect(t.peer.stats.tcpInErrs).toBe(0);
      await s.close();
      await c.close();
      await l.close();
    } finally {
      t.stop();
    }
  });
});
