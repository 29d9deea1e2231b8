/**
 * The IPv4 header (RFC 791 §3.1). Options are never sent and are skipped on
 * input (IHL gives their length).
 */
import { packed } from './layout.js';

/** IPv4 header without options, 20 bytes. */
export const IPV4_HEADER = packed([
  ['verIhl', 1], // version (4 bits) and Internet Header Length in 32-bit words (4 bits)
  ['tos', 1], // type of service / DSCP+ECN
  ['totalLength', 2], // header plus data, bytes
  ['id', 2], // identification, for reassembly
  ['flagsFrag', 2], // flags (3 bits) and fragment offset in 8-byte units (13 bits)
  ['ttl', 1],
  ['protocol', 1],
  ['checksum', 2], // header checksum (RFC 1071)
  ['src', 4],
  ['dst', 4],
]);

/** Header length without options, bytes. */
export const IP_HDR_LEN = IPV4_HEADER.SIZE;
/** Largest datagram (total length field), bytes. */
export const IP_MAXPACKET = 65535;
/** "More fragments" flag, within flagsFrag. */
export const IP_MF = 0x2000;
/** "Don't fragment" flag, within flagsFrag. */
export const IP_DF = 0x4000;
/** Reserved flag bit; must be zero. */
export const IP_RF = 0x8000;
/** Fragment offset mask within flagsFrag (units of 8 bytes). */
export const IP_OFFMASK = 0x1fff;
/** Default time to live for datagrams we originate (RFC 1700 suggests 64). */
export const IPDEFTTL = 64;
/** Protocol number of ICMP (RFC 790). */
export const IPPROTO_ICMP = 1;
/** Protocol number of TCP. */
export const IPPROTO_TCP = 6;
/** Protocol number of UDP. */
export const IPPROTO_UDP = 17;

/** The limited broadcast address 255.255.255.255 (RFC 919). */
export const INADDR_BROADCAST = 0xffffffff;
/** The unspecified address 0.0.0.0. */
export const INADDR_ANY = 0;
/** 127.0.0.1, the loopback interface's address. */
export const INADDR_LOOPBACK = 0x7f000001;

/** Offset of `verIhl` in IPV4_HEADER. */
export const IP_VHL = IPV4_HEADER.verIhl.offset;
/** Offset of `tos` in IPV4_HEADER. */
export const IP_TOS = IPV4_HEADER.tos.offset;
/** Offset of `totalLength` in IPV4_HEADER. */
export const IP_LEN = IPV4_HEADER.totalLength.offset;
/** Offset of `id` in IPV4_HEADER. */
export const IP_ID = IPV4_HEADER.id.offset;
/** Offset of `flagsFrag` in IPV4_HEADER. */
export const IP_OFF = IPV4_HEADER.flagsFrag.offset;
/** Offset of `ttl` in IPV4_HEADER. */
export const IP_TTL = IPV4_HEADER.ttl.offset;
/** Offset of `protocol` in IPV4_HEADER. */
export const IP_P = IPV4_HEADER.protocol.offset;
/** Offset of `checksum` in IPV4_HEADER. */
export const IP_SUM = IPV4_HEADER.checksum.offset;
/** Offset of `src` in IPV4_HEADER. */
export const IP_SRC = IPV4_HEADER.src.offset;
/** Offset of `dst` in IPV4_HEADER. */
export const IP_DST = IPV4_HEADER.dst.offset;
