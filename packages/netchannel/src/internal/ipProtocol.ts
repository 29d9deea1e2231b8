/**
 * The contract between IPv4 input and the transport protocols above it, so
 * IP depends on no protocol and each protocol registers itself.
 */
import type { Netif } from './netif.js';

/** A transport protocol's input. */
export interface IpProtocol {
  /**
   * One datagram for this protocol. The transport packet is
   * `pool.bytes[l4off, l4off+l4len)`; `m` is its mbuf, or -1 when the datagram
   * was reassembled into scratch memory (then copy whatever is kept, before
   * returning). Returns true when it kept `m` (and now owns it); false leaves
   * `m` to the caller to free. Never throws.
   */
  input(nif: Netif, m: number, ipOff: number, l4off: number, l4len: number, src: number, dst: number): boolean;
}
