/**
 * TCP segmentation offload on the device side of virtio-net
 * (VIRTIO_NET_F_HOST_TSO4, virtio-v1.2 §5.1.6.2): a guest hands the device
 * one Ethernet/IPv4/TCP frame of up to 64 KiB with gso_type
 * VIRTIO_NET_HDR_GSO_TCPV4 and gso_size = MSS, and the device cuts it into
 * frames that fit the MTU before any backend (or the pcap) sees them, the
 * way Linux's tcp_gso_segment does: every segment gets a copy of the
 * headers with its own IPv4 total length, identification (the guest's,
 * incremented per segment), header checksum and TCP sequence number; FIN and
 * PSH stay on the last segment only, CWR on the first only; the TCP
 * checksum is computed from scratch for each segment (the field's partial
 * value from the guest is not trusted).
 *
 * Everything here is guest-controlled: the frame is checked completely
 * before the first segment is emitted, so a bad frame produces nothing, and
 * no offset is used before it was checked against the frame's length. The
 * URG pointer is copied unchanged (our guest never sends urgent data; Linux
 * does the same for segments other than the first).
 */
import { internetChecksum, onesSum } from './netChecksum.js';

/** Bytes of an Ethernet header. */
const ETH_HLEN = 14;
/** EtherType of IPv4. */
const ETHERTYPE_IP = 0x0800;
/** IPv4 protocol number of TCP. */
const IPPROTO_TCP = 6;
/** Shortest IPv4 and TCP headers, bytes. */
const IP_MIN_HLEN = 20;
const TCP_MIN_HLEN = 20;
/** Offsets within the IPv4 header (RFC 791 §3.1). */
const IP_LEN = 2;
const IP_ID = 4;
const IP_OFF = 6;
const IP_P = 9;
const IP_SUM = 10;
const IP_SRC = 12;
/** More-fragments flag and fragment offset bits of IP_OFF. */
const IP_MF_OFFMASK = 0x3fff;
/** Offsets within the TCP header (RFC 9293 §3.1). */
const TH_SEQ = 4;
const TH_OFF = 12;
const TH_FLAGS = 13;
const TH_SUM = 16;
/** The checksum field's offset from the start of the TCP header: the only csum_offset a TSO frame may carry. */
export const TCP_CSUM_OFFSET = TH_SUM;
/** TCP flag bits the segmentation rules touch. */
const TH_FIN = 0x01;
const TH_PUSH = 0x08;
const TH_CWR = 0x80;
/** Largest IPv4 datagram, bytes (the total-length field is 16 bits). */
const IP_MAXPACKET = 65535;

/** Largest frame a guest may hand over with gso_type TCPV4: an Ethernet header and the largest IPv4 datagram. */
export const TSO_MAX_FRAME = ETH_HLEN + IP_MAXPACKET;

/** Receives one segment, `seg[0, length)`; the bytes are valid only during the call. */
export type SegmentSink = (seg: Uint8Array, length: number) => void;

/** The guest's metadata for one GSO frame (the virtio_net_hdr fields, already decoded from le16). */
export interface TsoRequest {
  /** Frame bytes in the buffer. */
  readonly length: number;
  /** hdr_len: at least the Ethernet, IPv4 and TCP headers (§5.1.6.2.1; without GUEST_HDRLEN only a lower bound). */
  readonly hdrLen: number;
  /** gso_size: payload bytes per segment (the MSS). */
  readonly gsoSize: number;
  /** csum_start and csum_offset: must name the TCP checksum field. */
  readonly csumStart: number;
  readonly csumOffset: number;
  /** The device's MTU (largest IPv4 datagram per segment). */
  readonly mtu: number;
}

const get16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const get32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * Checks a GSO TCPv4 frame in `frame[0, r.length)` and returns the length
 * of its Ethernet, IPv4 and TCP headers, or a string saying what is wrong
 * with it (for the device's log).
 */
export function checkTso(frame: Uint8Array, r: TsoRequest): number | string {
  const { length } = r;
  if (length > TSO_MAX_FRAME || length > frame.length) return `frame of ${length} bytes is longer than ${TSO_MAX_FRAME}`;
  if (length < ETH_HLEN + IP_MIN_HLEN + TCP_MIN_HLEN) return `frame of ${length} bytes cannot hold Ethernet, IPv4 and TCP headers`;
  const type = get16(frame, 12);
  if (type !== ETHERTYPE_IP) return `EtherType 0x${type.toString(16)} is not IPv4 (VLAN-tagged GSO frames are not supported)`;
  const ip = ETH_HLEN;
  if (frame[ip]! >>> 4 !== 4) return `IP version ${frame[ip]! >>> 4} is not 4`;
  const ipHl = (frame[ip]! & 0x0f) << 2;
  if (ipHl < IP_MIN_HLEN) return `IPv4 header length ${ipHl} is below ${IP_MIN_HLEN}`;
  if (frame[ip + IP_P] !== IPPROTO_TCP) return `IPv4 protocol ${frame[ip + IP_P]} is not TCP`;
  if ((get16(frame, ip + IP_OFF) & IP_MF_OFFMASK) !== 0) return 'the datagram is a fragment';
  const total = get16(frame, ip + IP_LEN);
  if (total !== length - ETH_HLEN) return `IPv4 total length ${total} does not match the ${length - ETH_HLEN} bytes after the Ethernet header`;
  const l4 = ip + ipHl;
  if (l4 + TCP_MIN_HLEN > length) return `IPv4 header length ${ipHl} leaves no room for a TCP header`;
  const tcpHl = (frame[l4 + TH_OFF]! >>> 4) << 2;
  if (tcpHl < TCP_MIN_HLEN) return `TCP data offset ${tcpHl} is below ${TCP_MIN_HLEN}`;
  const hdrs = l4 + tcpHl;
  if (hdrs > length) return `TCP header of ${tcpHl} bytes runs past the frame`;
  if (r.hdrLen < hdrs || r.hdrLen > length) return `hdr_len ${r.hdrLen} is outside ${hdrs}..${length} (the headers are ${hdrs} bytes)`;
  if (r.csumStart !== l4 || r.csumOffset !== TCP_CSUM_OFFSET) return `csum_start ${r.csumStart}/csum_offset ${r.csumOffset} do not name the TCP checksum (${l4}/${TCP_CSUM_OFFSET})`;
  const maxMss = r.mtu - ipHl - tcpHl;
  if (r.gsoSize < 1 || r.gsoSize > maxMss) return `gso_size ${r.gsoSize} is outside 1..${maxMss} (MTU ${r.mtu} less the headers)`;
  return hdrs;
}

/**
 * Cuts the GSO TCPv4 frame in `frame[0, r.length)` into segments built in
 * `out` (at least Ethernet header + MTU bytes) and hands each to `emit`.
 * Returns the number of segments, or what is wrong with the frame (then
 * nothing was emitted). A frame without payload goes out as one segment.
 */
export function segmentTcp4(frame: Uint8Array, r: TsoRequest, out: Uint8Array, emit: SegmentSink): number | string {
  const hdrs = checkTso(frame, r);
  if (typeof hdrs === 'string') return hdrs;
  if (out.length < ETH_HLEN + r.mtu) return `segment buffer of ${out.length} bytes is below the ${ETH_HLEN + r.mtu}-byte frame`;
  const ip = ETH_HLEN;
  const l4 = ip + ((frame[ip]! & 0x0f) << 2);
  const payload = r.length - hdrs;
  const mss = r.gsoSize;
  const id0 = get16(frame, ip + IP_ID);
  const seq0 = get32(frame, l4 + TH_SEQ);
  const flags = frame[l4 + TH_FLAGS]!;
  const count = payload === 0 ? 1 : Math.ceil(payload / mss);
  out.set(frame.subarray(0, hdrs), 0);
  // The source and destination addresses are the same in every segment: their part of the pseudo-header once.
  const addrSum = onesSum(out, ip + IP_SRC, ip + IP_SRC + 8);
  for (let i = 0; i < count; i++) {
    const start = i * mss;
    const n = Math.min(mss, payload - start);
    const tcpLen = hdrs - l4 + n;
    if (n > 0) out.set(frame.subarray(hdrs + start, hdrs + start + n), hdrs);
    put16(out, ip + IP_LEN, hdrs - ip + n);
    put16(out, ip + IP_ID, (id0 + i) & 0xffff);
    put16(out, ip + IP_SUM, 0);
    put16(out, ip + IP_SUM, internetChecksum(out, ip, l4));
    put32(out, l4 + TH_SEQ, (seq0 + start) >>> 0);
    let f = flags;
    if (i !== count - 1) f &= ~(TH_FIN | TH_PUSH);
    if (i !== 0) f &= ~TH_CWR;
    out[l4 + TH_FLAGS] = f;
    put16(out, l4 + TH_SUM, 0);
    put16(out, l4 + TH_SUM, internetChecksum(out, l4, hdrs + n, addrSum + IPPROTO_TCP + tcpLen));
    emit(out, hdrs + n);
  }
  return count;
}
