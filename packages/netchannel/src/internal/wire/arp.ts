/**
 * ARP packet for IPv4 over Ethernet (RFC 826, "Packet format"). Only the
 * Ethernet/IPv4 combination is accepted: hardware length 6, protocol length 4.
 */
import { packed } from './layout.js';

/** ARP over Ethernet for IPv4, 28 bytes. */
export const ARP_PACKET = packed([
  ['hrd', 2], // ar$hrd: hardware address space (ARPHRD_ETHER)
  ['pro', 2], // ar$pro: protocol address space (ETHERTYPE_IP)
  ['hln', 1], // ar$hln: 6
  ['pln', 1], // ar$pln: 4
  ['op', 2], // ar$op: ARPOP_REQUEST or ARPOP_REPLY
  ['sha', 6], // ar$sha: sender hardware address
  ['spa', 4], // ar$spa: sender protocol address
  ['tha', 6], // ar$tha: target hardware address
  ['tpa', 4], // ar$tpa: target protocol address
]);

/** ar$hrd value for Ethernet (RFC 826; IANA hardware type 1). */
export const ARPHRD_ETHER = 1;
/** ar$op of a request. */
export const ARPOP_REQUEST = 1;
/** ar$op of a reply. */
export const ARPOP_REPLY = 2;
