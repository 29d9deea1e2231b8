/**
 * The packet-hook API (OSv's PFIL): an application function sees packets in
 * the receive path, before sockets, and may answer one in place — rewrite the
 * request into the reply and send it back out — without a socket, a copy or a
 * thread switch (how osv-memcached answers UDP GETs). Hooks run in the
 * receive path, so they must be quick and must not block.
 */
import type { NetInterface } from './netInterface.js';

/** Hook verdict: let the stack process the packet as usual. */
export const PFIL_PASS = 0;
/** Hook verdict: the hook consumed the packet (answered or dropped it); the stack frees it. */
export const PFIL_CONSUMED = 1;

/** Where a hook runs. */
export type HookPoint = 'link' | 'ip';

/**
 * The packet a hook sees; one object reused for every packet, valid only
 * during the call. Offsets index `bytes` (the stack's packet memory).
 */
export interface HookPacket {
  /** The stack's packet memory. */
  readonly bytes: Uint8Array;
  /** The interface the packet arrived on. */
  readonly iface: NetInterface;
  /** 'link': Ethernet frame start (−1 for 'ip' hooks on loopback). */
  readonly frameOffset: number;
  /** 'link': frame length, bytes. */
  readonly frameLength: number;
  /** 'ip': IP header start. */
  readonly ipOffset: number;
  /** 'ip': datagram length (header + payload). */
  readonly ipLength: number;
  /** 'ip': protocol number (IPPROTO_UDP 17, TCP 6, ICMP 1). */
  readonly protocol: number;
  /** 'ip': source and destination addresses. */
  readonly source: number;
  readonly destination: number;
  /** 'ip': transport header start and length (checksum already verified for UDP and TCP). */
  readonly l4Offset: number;
  readonly l4Length: number;
  /**
   * For a UDP packet: turns it into the reply in place — the hook has written
   * `payloadLength` bytes of reply payload after the UDP header — by swapping
   * addresses and ports, fixing lengths and checksums, and sending it back to
   * the sender. Returns 0 or a negative errno (-EMSGSIZE when the reply does
   * not fit the buffer or MTU, -EPROTOTYPE when not UDP). Then return
   * PFIL_CONSUMED.
   */
  replyUdp(payloadLength: number): number;
}

/** A hook: returns PFIL_PASS or PFIL_CONSUMED. Must not throw (a throw is caught, counted, and treated as PFIL_PASS). */
export type PacketHook = (packet: HookPacket) => number;
