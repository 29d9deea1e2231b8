/**
 * The wire layouts the user backend's address translator reads and rewrites:
 * Ethernet II, ARP, IPv4, TCP, UDP and ICMP echo, each declared once as a
 * layout table citing its RFC (netchannel keeps its own tables internal, so
 * the hv declares the few fields it touches here). All multi-byte fields are
 * big-endian (network order).
 */
import { packed } from '@osv-ts/virtio';

/** Ethernet II header (RFC 894), 14 bytes. */
export const ETH_HEADER = packed([
  ['dst', 6],
  ['src', 6],
  ['type', 2], // EtherType
]);

/** ARP packet for IPv4 over Ethernet (RFC 826), 28 bytes after the Ethernet header. */
export const ARP_PACKET = packed([
  ['htype', 2], // ARPHRD_ETHER
  ['ptype', 2], // ETHERTYPE_IP
  ['hlen', 1], // 6
  ['plen', 1], // 4
  ['oper', 2], // ARPOP_REQUEST / ARPOP_REPLY
  ['sha', 6], // sender hardware address
  ['spa', 4], // sender protocol address
  ['tha', 6], // target hardware address
  ['tpa', 4], // target protocol address
]);

/** IPv4 header without options (RFC 791 §3.1), 20 bytes. */
export const IP_HEADER = packed([
  ['vhl', 1], // version (high 4 bits), header length in 32-bit words (low 4)
  ['tos', 1],
  ['len', 2], // total length, bytes
  ['id', 2],
  ['off', 2], // flags (3 bits) and fragment offset in 8-byte units
  ['ttl', 1],
  ['p', 1], // protocol
  ['sum', 2], // header checksum
  ['src', 4],
  ['dst', 4],
]);

/** TCP header without options (RFC 9293 §3.1), 20 bytes. */
export const TCP_HEADER = packed([
  ['sport', 2],
  ['dport', 2],
  ['seq', 4],
  ['ack', 4],
  ['offx2', 1], // data offset in 32-bit words (high 4 bits)
  ['flags', 1], // control bits TH_*
  ['win', 2],
  ['sum', 2], // checksum over the pseudo-header, header and data
  ['urp', 2],
]);

/** UDP header (RFC 768), 8 bytes. */
export const UDP_HEADER = packed([
  ['sport', 2],
  ['dport', 2],
  ['len', 2], // header and data, bytes
  ['sum', 2], // 0: no checksum was computed
]);

/** ICMP echo request / reply (RFC 792, "Echo or Echo Reply Message"), 8 bytes before the data. */
export const ICMP_ECHO = packed([
  ['type', 1],
  ['code', 1],
  ['sum', 2], // checksum over the ICMP message
  ['id', 2],
  ['seq', 2],
]);

/** EtherType IPv4. */
export const ETHERTYPE_IP = 0x0800;
/** EtherType ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** ARP hardware type Ethernet. */
export const ARPHRD_ETHER = 1;
/** ARP request. */
export const ARPOP_REQUEST = 1;
/** ARP reply. */
export const ARPOP_REPLY = 2;
/** IP protocol number of ICMP. */
export const IPPROTO_ICMP = 1;
/** IP protocol number of TCP. */
export const IPPROTO_TCP = 6;
/** IP protocol number of UDP. */
export const IPPROTO_UDP = 17;
/** IP `off` field: more fragments. */
export const IP_MF = 0x2000;
/** IP `off` field: the fragment offset bits (8-byte units). */
export const IP_OFFMASK = 0x1fff;
/** TCP control bit FIN (RFC 9293 §3.1). */
export const TH_FIN = 0x01;
/** TCP control bit SYN. */
export const TH_SYN = 0x02;
/** TCP control bit RST. */
export const TH_RST = 0x04;
/** TCP control bit ACK. */
export const TH_ACK = 0x10;
/** ICMP type echo reply (RFC 792). */
export const ICMP_ECHOREPLY = 0;
/** ICMP type echo request (RFC 792). */
export const ICMP_ECHO_REQUEST = 8;
/** The limited broadcast address 255.255.255.255. */
export const INADDR_BROADCAST = 0xffffffff;

/** Reads a big-endian 16-bit field. */
export function get16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** Writes a big-endian 16-bit field. */
export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

/** Reads a big-endian 32-bit field as an unsigned number. */
export function get32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Writes a big-endian 32-bit field. */
export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
