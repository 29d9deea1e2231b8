/**
 * The virtio-net driver's TCP segmentation offload (VIRTIO_NET_F_HOST_TSO4)
 * against a small device model on the virtio package's real device-side
 * transport that segments GSO frames by the virtio rules (netchannel's
 * reference splitter) and checks every header the driver writes: the
 * negotiation, the refusals, and a netchannel stack on each side of the
 * device streaming several MiB guest→peer in super-segments.
 */
import {
  VIRTIO_ID_NET,
  VIRTIO_NET_CONFIG_LAYOUT,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_HOST_TSO4,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_LAYOUT as H,
  VIRTIO_NET_RECEIVEQ,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_NET_TRANSMITQ,
  featureBit,
} from '@osv-ts/virtio';
import { ConfigSpace, type VirtioDeviceModel, type VirtioTransport, type VirtqueueDevice } from '@osv-ts/virtio/device';
import { MBUF_SIZE, NetStack, VirtualClock, seededEntropy, type LinkReceiver, type TcpSocket } from '@osv-ts/netchannel';
import { splitTsoFrame, tcpFrameChecksumsValid } from '@osv-ts/netchannel/host';
import { describe, expect, it } from 'vitest';
import { readToEnd, virtioNetOverModel, writePattern } from '../host/virtioNetHarness.js';
import { NET_ERRNO } from './netDevice.js';

const le16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);

/** A device offering CSUM and (optionally) HOST_TSO4 that segments GSO frames and hands every frame to `onSend`. */
class TsoNet implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_NET;
  readonly features: bigint;
  readonly queueCount = 2;
  readonly configSize = VIRTIO_NET_CONFIG_LAYOUT.SIZE;
  readonly config = new ConfigSpace(VIRTIO_NET_CONFIG_LAYOUT);
  /** GSO frames and the segments they became; ordinary frames; what was wrong with any header. */
  gsoFrames = 0;
  segments = 0;
  plain = 0;
  largest = 0;
  readonly problems: string[] = [];
  onSend: (f: Uint8Array) => void = () => {};
  private readonly held: Uint8Array[] = [];
  transport!: VirtioTransport;
  constructor(tso: boolean) {
    this.features =
      featureBit(VIRTIO_NET_F_MAC) | featureBit(VIRTIO_NET_F_STATUS) | featureBit(VIRTIO_NET_F_MTU) | featureBit(VIRTIO_NET_F_CSUM) | (tso ? featureBit(VIRTIO_NET_F_HOST_TSO4) : 0n);
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
      const hdr = new Uint8Array(H.SIZE);
      q.chain.read(hdr);
      const f = new Uint8Array(q.chain.readableBytes - H.SIZE);
      q.chain.read(f, H.SIZE);
      q.pushUsed(h, 0);
      this.transmitted(hdr, f);
    }
    this.transport.flush(VIRTIO_NET_TRANSMITQ);
  }
  private transmitted(hdr: Uint8Array, f: Uint8Array): void {
    const gso = hdr[H.gso_type.offset]!;
    const csumStart = le16(hdr, H.csum_start.offset);
    if ((hdr[H.flags.offset]! & VIRTIO_NET_HDR_F_NEEDS_CSUM) === 0) {
      this.plain++;
      this.onSend(f);
      return;
    }
    if (gso === VIRTIO_NET_HDR_GSO_NONE) {
      this.plain++;
      const at = csumStart + le16(hdr, H.csum_offset.offset);
      let s = 0;
      for (let i = csumStart; i < f.length; i += 2) s += (f[i]! << 8) | (i + 1 < f.length ? f[i + 1]! : 0);
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      f[at] = (~s >>> 8) & 0xff;
      f[at + 1] = ~s & 0xff;
      this.onSend(f);
      return;
    }
    const hdrLen = le16(hdr, H.hdr_len.offset);
    const gsoSize = le16(hdr, H.gso_size.offset);
    const l4 = 14 + (f[14]! & 15) * 4;
    const want = l4 + (f[l4 + 12]! >>> 4) * 4;
    if (gso !== VIRTIO_NET_HDR_GSO_TCPV4) this.problems.push(`gso_type ${gso}`);
    if (hdrLen !== want) this.problems.push(`hdr_len ${hdrLen}, headers ${want}`);
    if (csumStart !== l4 || le16(hdr, H.csum_offset.offset) !== 16) this.problems.push(`csum ${csumStart}/${le16(hdr, H.csum_offset.offset)}`);
    if (gsoSize < 1 || gsoSize + want - 14 > 1500) this.problems.push(`gso_size ${gsoSize}`);
    this.gsoFrames++;
    this.largest = Math.max(this.largest, f.length);
    const segs = splitTsoFrame(f, gsoSize);
    this.segments += segs.length;
    for (const s of segs) this.onSend(s);
  }
  /** The peer sends a frame: into a receive buffer now, or held until the guest posts one. */
  send(frame: Uint8Array): void {
    if (this.held.length > 0 || !this.inject(frame)) this.held.push(frame.slice());
  }
  private deliverHeld(): void {
    while (this.held.length > 0 && this.inject(this.held[0]!)) this.held.shift();
  }
  private inject(frame: Uint8Array): boolean {
    const q = this.transport.queue(VIRTIO_NET_RECEIVEQ);
    const h = q ? q.pop() : -1;
    if (!q || h < 0) return false;
    const hdr = new Uint8Array(H.SIZE);
    hdr[H.num_buffers.offset] = 1;
    q.chain.write(hdr);
    q.chain.write(frame, H.SIZE);
    q.pushUsed(h, H.SIZE + frame.length);
    this.transport.flush(VIRTIO_NET_RECEIVEQ);
    return true;
  }
  reset(): void {}
}

function machine(tso: boolean) {
  const model = new TsoNet(tso);
  const { net, memory, dmaEnd } = virtioNetOverModel(model);
  return { net, model, memory, dmaEnd };
}

/** A TCP/IPv4 frame of `payload` bytes with a 32-byte TCP header, as a stack would hand the driver. */
function tcpFrame(payload: number): Uint8Array {
  const f = new Uint8Array(14 + 20 + 32 + payload);
  f.set([0x08, 0x00], 12);
  f.set([0x45, 0, (f.length - 14) >>> 8, (f.length - 14) & 0xff, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1], 14);
  f[46] = 8 << 4;
  return f;
}

describe('VirtioNet TCP segmentation offload (VIRTIO_NET_F_HOST_TSO4)', () => {
  it('negotiates HOST_TSO4 when offered with CSUM, takes its large buffers below the stack pool, and refuses what it cannot send', () => {
    expect(machine(false).net.tsoMaxBytes).toBe(0);
    expect(machine(false).net.transmitOffload(tcpFrame(3000), 0, 14 + 52 + 3000, 34, 16, 1448)).toBe(-NET_ERRNO.EINVAL);
    const { net, model, dmaEnd } = machine(true);
    expect(net.tsoMaxBytes).toBe(14 + 65535);
    expect(dmaEnd()).toBeLessThan(POOL_AT);
    const f = tcpFrame(65535 - 52);
    expect(net.transmitOffload(f, 0, f.length, 34, 16, 1448)).toBe(0);
    expect(model.gsoFrames).toBe(1);
    expect(model.segments).toBe(Math.ceil((65535 - 52) / 1448));
    expect(model.problems).toEqual([]);
    const big = new Uint8Array(f.length + 1);
    expect(net.transmitOffload(big, 0, big.length, 34, 16, 1448)).toBe(-NET_ERRNO.EMSGSIZE);
    expect(net.transmitOffload(f, 0, f.length, 34, 16, 0.5)).toBe(-NET_ERRNO.EINVAL);
    expect(net.transmitOffload(f, 0, f.length, 34, 16, 70000)).toBe(-NET_ERRNO.EINVAL);
    expect(net.transmitOffload(f, 10, f.length, 34, 16, 1448)).toBe(-NET_ERRNO.EINVAL);
    const lying = tcpFrame(100);
    lying[46] = 0xf0; // a 60-byte TCP header in a frame that ends first
    expect(net.transmitOffload(lying, 0, 14 + 20 + 40, 34, 16, 1448)).toBe(-NET_ERRNO.EINVAL);
    expect(model.gsoFrames).toBe(1);
    // Buffers come back: many more super-segments than there are large buffers.
    for (let i = 0; i < 100; i++) expect(net.transmitOffload(f, 0, f.length, 34, 16, 1448)).toBe(0);
    expect(model.gsoFrames).toBe(101);
  });

  it('a stack over the device sends super-segments and a multi-MiB stream arrives whole at the peer', async () => {
    const { net, model, memory } = machine(true);
    const clock = new VirtualClock();
    const guest = new NetStack({ clock, timers: clock, entropy: seededEntropy(1), memory: { memory, byteOffset: POOL_AT, byteLength: POOL_BYTES } });
    const gif = guest.addInterface(net, { address: GUEST });
    expect(net.setMbufReceiver({ pool: guest.pool, mbufBytes: MBUF_SIZE, inputMbuf: (m) => gif.inputMbuf(m) })).toBe(true);
    let peerRx: LinkReceiver | null = null;
    const onWire: boolean[] = [];
    model.onSend = (f) => {
      if (f[23] === 6 && f.length > 14) onWire.push(f.length <= 1514 && tcpFrameChecksumsValid(f));
      peerRx?.receiveFrame(f, 0, f.length);
    };
    const peer = new NetStack({ clock, timers: clock, entropy: seededEntropy(2) });
    peer.addInterface({ mac: Uint8Array.of(2, 0, 0, 0, 0, 9), mtu: 1500, transmit: (f, o, n) => (model.send(f.subarray(o, o + n)), 0), setReceiver: (r) => void (peerRx = r) }, { address: PEER });
    const until = async (done: () => boolean): Promise<void> => {
      for (let i = 0; !done(); i++) {
        if (i > 2_000_000) throw new Error('simulation did not finish');
        await null;
        if (i % 32 === 31 && !clock.runNext(clock.now() + 5)) clock.advance(5);
      }
    };
    try {
      const l = peer.tcpSocket();
      l.bind(0, 80);
      l.listen(1);
      let conn: TcpSocket | null = null;
      void l.accept().then((s) => (conn = s));
      const c = guest.tcpSocket();
      let up = false;
      void c.connect(PEER, 80).then(() => (up = true));
      await until(() => up && conn !== null);
      const BYTES = 6 << 20;
      let sent = '';
      let got: { bytes: number; sha: string } | null = null;
      void writePattern(c, BYTES, 65536).then((h) => (sent = h));
      void readToEnd(conn!).then((r) => (got = r));
      await until(() => got !== null && sent !== '');
      expect(got!.bytes).toBe(BYTES);
      expect(got!.sha).toBe(sent);
      expect(model.problems).toEqual([]);
      expect(model.gsoFrames).toBeGreaterThan(50);
      expect(guest.stats.tcpTsoFrames).toBe(model.gsoFrames);
      expect(guest.stats.tcpTsoBytes).toBeGreaterThan(BYTES / 2);
      expect(onWire.every(Boolean)).toBe(true);
      expect(peer.stats.tcpInErrs).toBe(0);
      await c.close();
      await conn!.close();
      await l.close();
    } finally {
      net.setMbufReceiver(null);
      net.setReceiver(null);
    }
  });
});

/** Where the guest stack's packet pool sits in the 16 MiB test memory (the DMA allocator stays below). */
const POOL_AT = 8 << 20;
const POOL_BYTES = 4 << 20;
const GUEST = 0x0a000002;
const PEER = 0x0a000001;

