/**
 * Ethernet II framing (IEEE 802.3 §3.1.1; RFC 894 for IPv4 over Ethernet). The
 * frame check sequence is the link's business: links hand the stack frames
 * without it.
 */
import { packed } from './layout.js';

/** Ethernet II header: destination, source, EtherType. */
export const ETHER_HEADER = packed([
  ['dst', 6],
  ['src', 6],
  ['type', 2],
]);

/** Ethernet header length, bytes. */
export const ETHER_HDR_LEN = ETHER_HEADER.SIZE;
/** Length of a MAC address, bytes. */
export const ETHER_ADDR_LEN = 6;
/** EtherType for IPv4 (RFC 894). */
export const ETHERTYPE_IP = 0x0800;
/** EtherType for ARP (RFC 826). */
export const ETHERTYPE_ARP = 0x0806;
/** The conventional Ethernet MTU (largest payload), bytes. */
export const ETHERMTU = 1500;
/** Smallest Ethernet payload before padding (60-byte frame minus the header). */
export const ETHER_MIN_PAYLOAD = 46;

/** Offset of the destination MAC within the header. */
export const ETH_DST = ETHER_HEADER.dst.offset;
/** Offset of the source MAC within the header. */
export const ETH_SRC = ETHER_HEADER.src.offset;
/** Offset of the EtherType within the header. */
export const ETH_TYPE = ETHER_HEADER.type.offset;
