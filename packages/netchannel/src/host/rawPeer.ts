/// <reference types="node" />
/**
 * A scripted peer for protocol tests: one NetStack (10.0.0.1) on one end of a
 * link pair, and on the other end a test that writes raw frames and reads
 * what the stack sends, parsed. It answers the stack's ARP requests itself.
 * Frames are built here with plain code, independent of the stack's writers.
 */
import { createLinkPair } from '../linkPair.js';
import type { Link } from '../link.js';
import { NetStack, type NetStackOptions } from '../netStack.js';
import { seededEntropy } from '../entropy.js';
import type { VirtualClock } from '../virtualClock.js';

/** The stack's address. */
export const STACK_IP = 0x0a000001;
/** The raw peer's address. */
export const PEER_IP = 0x0a000002;
/** The stack's MAC (createLinkPair's default for end A). */
export const STACK_MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
/** The raw peer's MAC. */
export const PEER_MAC = Uint8Array.of(2, 0, 0, 0, 0, 2);

/** A TCP segment as the stack sent it. */
export interface SentSegment {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  data: Uint8Array;
  /** Raw option bytes. */
  options: Uint8Array;
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  tsVal?: number;
  tsEcr?: number;
  sack?: number[];
}

/** What to put in a segment the peer sends. */
export interface SegmentSpec {
  sport?: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: number;
  win?: number;
  options?: number[];
  data?: Uint8Array;
  /** Corrupt the checksum. */
  badChecksum?: boolean;
}

function sum16(b: Uint8Array, s = 0): number {
  let acc = s;
  for (let i = 0; i + 1 < b.length; i += 2) acc += (b[i]! << 8) | b[i + 1]!;
  if (b.length & 1) acc += b[b.length - 1]! << 8;
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

/** Builds an IPv4 packet (header + payload) with a correct header checksum. */
export function ipPacket(src: number, dst: number, proto: number, payload: Uint8Array, opts: { id?: number; fragOff?: number; mf?: boolean; ttl?: number } = {}): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, p.length);
  v.setUint16(4, opts.id ?? 1);
  v.setUint16(6, ((opts.mf ? 1 : 0) << 13) | ((opts.fragOff ?? 0) >>> 3));
  p[8] = opts.ttl ?? 64;
  p[9] = proto;
  v.setUint32(12, src);
  v.setUint32(16, dst);
  v.setUint16(10, ~sum16(p.subarray(0, 20)) & 0xffff);
  p.set(payload, 20);
  return p;
}

/** Transport checksum over the IPv4 pseudo header. */
export function l4Checksum(src: number, dst: number, proto: number, seg: Uint8Array): number {
  const ph = new Uint8Array(12);
  const v = new DataView(ph.buffer);
  v.setUint32(0, src);
  v.setUint32(4, dst);
  ph[9] = proto;
  v.setUint16(10, seg.length);
  return ~sum16(seg, sum16(ph)) & 0xffff;
}

/** Builds a TCP segment (header, options, data) with its checksum. */
export function tcpSegment(src: number, dst: number, s: SegmentSpec): Uint8Array {
  const opts = s.options ?? [];
  const optLen = (opts.length + 3) & ~3;
  const data = s.data ?? new Uint8Array(0);
  const seg = new Uint8Array(20 + optLen + data.length);
  const v = new DataView(seg.buffer);
  v.setUint16(0, s.sport ?? 40000);
  v.setUint16(2, s.dport);
  v.setUint32(4, s.seq >>> 0);
  v.setUint32(8, (s.ack ?? 0) >>> 0);
  seg[12] = ((20 + optLen) / 4) << 4;
  seg[13] = s.flags;
  v.setUint16(14, s.win ?? 65535);
  seg.set(opts, 20);
  seg.set(data, 20 + optLen);
  const c = l4Checksum(src, dst, 6, seg);
  v.setUint16(16, s.badChecksum ? c ^ 0x5555 : c);
  return seg;
}

/** Wraps an IP packet in an Ethernet frame. */
export function etherFrame(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = type >>> 8;
  f[13] = type & 0xff;
  f.set(payload, 14);
  return f;
}

/** The scripted peer. */
export class RawPeer {
  readonly stack: NetStack;
  readonly link: Link;
  /** Every frame the stack sent, in order (copies). */
  readonly frames: Uint8Array[] = [];
  /** TCP segments the stack sent and the test has not taken yet. */
  readonly tcp: SentSegment[] = [];
  /** Checksum failures seen in the stack's output (must stay 0). */
  badOutput = 0;
  answerArp = true;

  constructor(clock: VirtualClock, options: Partial<NetStackOptions> = {}) {
    const [a, b] = createLinkPair({ macB: PEER_MAC });
    this.link = b;
    this.stack = new NetStack({ clock, timers: clock, entropy: seededEntropy(99), ...options });
    this.stack.addInterface(a, { address: STACK_IP, prefixLength: 24 });
    b.setReceiver({ receiveFrame: (f, o, l) => this.onFrame(f.slice(o, o + l)) });
  }

  /** Sends a raw Ethernet frame to the stack. */
  sendFrame(frame: Uint8Array): void {
    this.link.transmit(frame, 0, frame.length);
  }

  /** Sends an IPv4 packet to the stack. */
  sendIp(packet: Uint8Array): void {
    this.sendFrame(etherFrame(STACK_MAC, PEER_MAC, 0x0800, packet));
  }

  /** Sends a TCP segment from the peer to the stack. */
  send(s: SegmentSpec): void {
    this.sendIp(ipPacket(PEER_IP, STACK_IP, 6, tcpSegment(PEER_IP, STACK_IP, s)));
  }

  /** Takes the next TCP segment the stack sent; throws if there is none. */
  take(): SentSegment {
    const s = this.tcp.shift();
    if (s === undefined) throw new Error('the stack sent no TCP segment');
    return s;
  }

  /** Takes every pending segment. */
  drain(): SentSegment[] {
    return this.tcp.splice(0);
  }

  private onFrame(f: Uint8Array): void {
    this.frames.push(f);
    const type = (f[12]! << 8) | f[13]!;
    if (type === 0x0806 && this.answerArp) {
      const op = (f[20]! << 8) | f[21]!;
      if (op === 1) {
        const reply = new Uint8Array(28);
        reply.set([0, 1, 8, 0, 6, 4, 0, 2]);
        reply.set(PEER_MAC, 8);
        reply.set(f.subarray(14 + 24, 14 + 28), 14);
        reply.set(f.subarray(14 + 8, 14 + 18), 18);
        this.sendFrame(etherFrame(f.subarray(6, 12), PEER_MAC, 0x0806, reply));
      }
      return;
    }
    if (type !== 0x0800) return;
    const ip = f.subarray(14);
    const hl = (ip[0]! & 15) * 4;
    const tot = (ip[2]! << 8) | ip[3]!;
    if (sum16(ip.subarray(0, hl)) !== 0xffff) this.badOutput++;
    const v = new DataView(ip.buffer, ip.byteOffset);
    const src = v.getUint32(12);
    const dst = v.getUint32(16);
    if (ip[9] !== 6) return;
    const seg = ip.subarray(hl, tot);
    const ph = new Uint8Array(12);
    const pv = new DataView(ph.buffer);
    pv.setUint32(0, src);
    pv.setUint32(4, dst);
    ph[9] = 6;
    pv.setUint16(10, seg.length);
    if (sum16(seg, sum16(ph)) !== 0xffff) this.badOutput++;
    this.tcp.push(parseSegment(src, dst, seg));
  }
}

function parseSegment(src: number, dst: number, seg: Uint8Array): SentSegment {
  const v = new DataView(seg.buffer, seg.byteOffset, seg.length);
  const off = (seg[12]! >>> 4) * 4;
  const out: SentSegment = {
    src, dst, sport: v.getUint16(0), dport: v.getUint16(2), seq: v.getUint32(4), ack: v.getUint32(8),
    flags: seg[13]!, win: v.getUint16(14), data: seg.slice(off), options: seg.slice(20, off),
  };
  const o = out.options;
  for (let i = 0; i < o.length; ) {
    const k = o[i]!;
    if (k === 0) break;
    if (k === 1) { i++; continue; }
    const len = o[i + 1]!;
    const ov = new DataView(o.buffer, o.byteOffset + i);
    if (k === 2) out.mss = ov.getUint16(2);
    if (k === 3) out.wscale = o[i + 2]!;
    if (k === 4) out.sackPermitted = true;
    if (k === 8) { out.tsVal = ov.getUint32(2); out.tsEcr = ov.getUint32(6); }
    if (k === 5) { out.sack = []; for (let j = 2; j < len; j += 4) out.sack.push(ov.getUint32(j)); }
    i += len;
  }
  return out;
}
