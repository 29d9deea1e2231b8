/**
 * ICMP messages (RFC 792): the echo header, and the error header whose body
 * quotes the offending datagram's IP header plus 8 bytes.
 */
import { packed } from './layout.js';

/** Echo or echo reply message header (RFC 792, "Echo or Echo Reply Message"). */
export const ICMP_ECHO = packed([
  ['type', 1],
  ['code', 1],
  ['checksum', 2],
  ['id', 2],
  ['seq', 2],
]);

/** Destination unreachable / time exceeded header (RFC 792), followed by the quoted datagram. */
export const ICMP_ERROR = packed([
  ['type', 1],
  ['code', 1],
  ['checksum', 2],
  ['unused', 2],
  ['nextHopMtu', 2], // RFC 1191 §4 for code 4, else zero
]);

/** ICMP header length, bytes (both forms). */
export const ICMP_HDR_LEN = ICMP_ECHO.SIZE;
/** Echo reply (RFC 792). */
export const ICMP_ECHOREPLY = 0;
/** Destination unreachable (RFC 792). */
export const ICMP_UNREACH = 3;
/** Echo request (RFC 792). */
export const ICMP_ECHO_REQUEST = 8;
/** Time exceeded (RFC 792). */
export const ICMP_TIMXCEED = 11;
/** Unreachable code: network. */
export const ICMP_UNREACH_NET = 0;
/** Unreachable code: host. */
export const ICMP_UNREACH_HOST = 1;
/** Unreachable code: protocol. */
export const ICMP_UNREACH_PROTOCOL = 2;
/** Unreachable code: port. */
export const ICMP_UNREACH_PORT = 3;
/** Unreachable code: fragmentation needed and DF set (RFC 1191). */
export const ICMP_UNREACH_NEEDFRAG = 4;
