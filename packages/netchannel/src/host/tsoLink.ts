/**
 * Test support (Node or guest; no host API): a reference for TCP
 * segmentation offload. `splitTsoFrame` cuts a super-segment the way
 * virtio-net with VIRTIO_NET_F_HOST_TSO4 does (virtio-v1.2 §5.1.6.2, after
 * Linux's tcp_gso_segment): headers copied into every segment, IPv4 total
 * length, identification (incremented) and header checksum and the TCP
 * sequence number set per segment, FIN and PSH on the last segment only, CWR
 * on the first only, each TCP checksum computed from scratch. `TsoLink`
 * wraps a Link and offers the capability to a stack over it, checking every
 * request the stack makes, so tests can see super-segments go in and only
 * ordinary frames come out at the peer.
 *
 * Written for clarity, not speed (byte loops, a new array per segment): the
 * hv's device has its own allocation-free implementation, and the two are
 * checked against the same rules by their tests.
 */
import type { Link, LinkReceiver } from '../link.js';

const get16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const get32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

/** The one's complement sum of `b[off, end)` as big-endian 16-bit words plus `acc`, folded to 16 bits. */
function onesSum(b: Uint8Array, off: number, end: number, acc = 0): number {
  let s = acc;
  for (let i = off; i < end; i += 2) s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** True when the Ethernet/IPv4/TCP frame `f` has an IPv4 header checksum and a TCP checksum that verify. */
export function tcpFrameChecksumsValid(f: Uint8Array): boolean {
  const hl = (f[14]! & 15) * 4;
  const total = get16(f, 16);
  if (onesSum(f, 14, 14 + hl) !== 0xffff) return false;
  return onesSum(f, 14 + hl, 14 + total, onesSum(f, 26, 34) + 6 + total - hl) === 0xffff;
}

/**
 * Cuts the Ethernet/IPv4/TCP super-segment `frame` (a copy; not modified)
 * into segments of `gsoSize` payload bytes. Throws Error when the frame is
 * not one plain TCP/IPv4 packet (the callers are tests: a throw is the
 * finding).
 */
export function splitTsoFrame(frame: Uint8Array, gsoSize: number): Uint8Array[] {
  if (get16(frame, 12) !== 0x0800 || frame[14]! >>> 4 !== 4 || frame[23] !== 6) throw new Error('splitTsoFrame: not an IPv4/TCP frame');
  const l4 = 14 + (frame[14]! & 15) * 4;
  const hdrs = l4 + (frame[l4 + 12]! >>> 4) * 4;
  if (get16(frame, 16) !== frame.length - 14) throw new Error(`splitTsoFrame: IPv4 length ${get16(frame, 16)} for a ${frame.length}-byte frame`);
  if (!(gsoSize >= 1)) throw new Error(`splitTsoFrame: gso size ${gsoSize}`);
  const payload = frame.length - hdrs;
  const count = Math.max(1, Math.ceil(payload / gsoSize));
  const id = get16(frame, 18);
  const seq = get32(frame, l4 + 4);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const n = Math.min(gsoSize, payload - i * gsoSize);
    const s = new Uint8Array(hdrs + n);
    s.set(frame.subarray(0, hdrs));
    s.set(frame.subarray(hdrs + i * gsoSize, hdrs + i * gsoSize + n), hdrs);
    put16(s, 16, s.length - 14);
    put16(s, 18, (id + i) & 0xffff);
    put16(s, 24, 0);
    put16(s, 24, ~onesSum(s, 14, l4) & 0xffff);
    const q = (seq + i * gsoSize) >>> 0;
    put16(s, l4 + 4, q >>> 16);
    put16(s, l4 + 6, q & 0xffff);
    if (i < count - 1) s[l4 + 13]! &= ~0x09; // FIN, PSH: last segment only
    if (i > 0) s[l4 + 13]! &= ~0x80; // CWR: first segment only
    put16(s, l4 + 16, 0);
    put16(s, l4 + 16, ~onesSum(s, l4, s.length, onesSum(s, 26, 34) + 6 + s.length - l4) & 0xffff);
    out.push(s);
  }
  return out;
}

/**
 * A Link with transmit checksum and segmentation offload over an inner
 * link without them: super-segments are split (splitTsoFrame) and
 * NEEDS_CSUM frames completed before the inner link sees them. Every
 * request is checked; what does not describe its frame is recorded in
 * `problems` (and the frame still sent, so a test sees both).
 */
export class TsoLink implements Link {
  readonly txChecksumOffload = true;
  /** Set to 0 to take the capability away (as a device renegotiating would). */
  tsoMaxBytes: number;
  /** Super-segments received / segments they became / ordinary frames (with or without NEEDS_CSUM). */
  superSegments = 0;
  segments = 0;
  ordinary = 0;
  /** Largest super-segment seen, frame bytes. */
  largest = 0;
  /** Refuse every n-th super-segment with -ENOBUFS (0: none), as a device whose large buffers are all in flight; counted in `refused`. */
  refuseEvery = 0;
  refused = 0;
  readonly problems: string[] = [];

  /** Wraps `inner`; `tsoMaxBytes` is the capability advertised (default 65536). */
  constructor(
    private readonly inner: Link,
    tsoMaxBytes = 65536,
  ) {
    this.tsoMaxBytes = tsoMaxBytes;
  }

  get mac(): Uint8Array {
    return this.inner.mac;
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  transmit(frame: Uint8Array, offset: number, length: number): number {
    this.ordinary++;
    if (length > this.mtu + 14) this.problems.push(`plain frame of ${length} bytes over MTU ${this.mtu}`);
    return this.inner.transmit(frame, offset, length);
  }

  transmitOffload(frame: Uint8Array, offset: number, length: number, csumStart: number, csumOffset: number, gsoSize = 0): number {
    const f = frame.slice(offset, offset + length);
    const hl = (f[14]! & 15) * 4;
    if (csumStart !== 14 + hl) this.problems.push(`csum_start ${csumStart} for a ${hl}-byte IPv4 header`);
    if (gsoSize === 0) {
      this.ordinary++;
      if (length > this.mtu + 14) this.problems.push(`offloaded frame of ${length} bytes over MTU ${this.mtu}`);
      const sum = ~onesSum(f, csumStart, length) & 0xffff;
      put16(f, csumStart + csumOffset, sum);
      return this.inner.transmit(f, 0, length);
    }
    if (this.refuseEvery > 0 && (this.superSegments + this.refused + 1) % this.refuseEvery === 0) {
      this.refused++;
      return -105; // ENOBUFS
    }
    this.superSegments++;
    this.largest = Math.max(this.largest, length);
    if (f[23] !== 6 || csumOffset !== 16) this.problems.push(`GSO frame with protocol ${f[23]} and csum_offset ${csumOffset}`);
    if (length > this.tsoMaxBytes) this.problems.push(`GSO frame of ${length} bytes over tsoMaxBytes ${this.tsoMaxBytes}`);
    const hdrs = csumStart + (f[csumStart + 12]! >>> 4) * 4;
    if (gsoSize + hdrs - 14 > this.mtu) this.problems.push(`gso size ${gsoSize} with ${hdrs - 14} bytes of headers exceeds MTU ${this.mtu}`);
    if (length - hdrs <= gsoSize) this.problems.push(`GSO frame of ${length - hdrs} payload bytes fits one ${gsoSize}-byte segment`);
    const segs = splitTsoFrame(f, gsoSize);
    this.segments += segs.length;
    for (const s of segs) this.inner.transmit(s, 0, s.length);
    return 0;
  }

  setReceiver(receiver: LinkReceiver | null): void {
    this.inner.setReceiver(receiver);
  }
}
