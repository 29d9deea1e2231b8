/**
 * IPv4 output (RFC 791 §3.2; RFC 1122 §3.3): routing over the stack's
 * interfaces, the header, and fragmentation of datagrams larger than the
 * outgoing interface's MTU. Routing is the host model of RFC 1122: the
 * loopback interface for 127/8 and our own addresses, the interface whose
 * subnet holds the destination, else the first interface's default gateway.
 * Owned by the stack's thread.
 */
import type { Netif } from './netif.js';
import type { StackCore } from './stackCore.js';
import { copyBytes, put16, put32 } from './wire/bytes.js';
import { checksum } from './wire/checksum.js';
import { completeChecksum } from './txChecksum.js';
import { ETHER_HDR_LEN } from './wire/ethernet.js';
import { INADDR_BROADCAST, IPPROTO_TCP, IP_DST, IP_HDR_LEN, IP_ID, IP_LEN, IP_MF, IP_OFF, IP_P, IP_SRC, IP_SUM, IP_TOS, IP_TTL, IP_VHL, IPDEFTTL } from './wire/ipv4.js';

/** Negative errno: no route to the destination. */
const ENETUNREACH = -101;
/** Negative errno: no buffer. */
const ENOBUFS = -105;
/** Negative errno: datagram too large. */
const EMSGSIZE = -90;

/** Routing and the IPv4 header for everything the stack sends. */
export class IpOutput {
  private readonly core: StackCore;
  /** Interfaces; index 0 is loopback. Owned by the stack. */
  readonly ifaces: Netif[];
  private nextId: number;
  /** Set by route(): the next hop for the destination routed last. */
  nextHop = 0;
  /** Set by tsoRoute(): the next hop's MAC address. */
  tsoMac: Uint8Array | null = null;

  constructor(core: StackCore, ifaces: Netif[]) {
    this.core = core;
    this.ifaces = ifaces;
    this.nextId = core.entropy.random32() & 0xffff;
  }

  /** True when `addr` is one of our addresses (any interface) or in 127/8. */
  isLocal(addr: number): boolean {
    if (addr >>> 24 === 127) return true;
    for (const n of this.ifaces) if (n.address === addr && addr !== 0) return true;
    return false;
  }

  /**
   * Picks the interface for `dst` and sets nextHop; `via` forces one (used for
   * broadcasts while unconfigured, as DHCP needs). Returns null when there is no route.
   */
  route(dst: number, via: Netif | null = null): Netif | null {
    if (via !== null) {
      this.nextHop = dst === INADDR_BROADCAST || via.onLink(dst) || via.gateway === 0 ? dst : via.gateway;
      return via;
    }
    if (this.isLocal(dst)) {
      this.nextHop = dst;
      return this.ifaces[0]!;
    }
    for (let i = 1; i < this.ifaces.length; i++) {
      const n = this.ifaces[i]!;
      if (n.onLink(dst) || (dst === INADDR_BROADCAST && n.link !== null)) {
        this.nextHop = dst;
        return n;
      }
    }
    for (let i = 1; i < this.ifaces.length; i++) {
      const n = this.ifaces[i]!;
      if (n.gateway !== 0 && n.address !== 0) {
        this.nextHop = n.gateway;
        return n;
      }
    }
    return null;
  }

  /** The source address to use towards `dst`: the routed interface's address (0 if none). */
  sourceFor(dst: number): number {
    if (dst >>> 24 === 127) return dst === 0x7f000001 ? dst : 0x7f000001;
    if (this.isLocal(dst)) return dst;
    const n = this.route(dst);
    return n === null ? 0 : n.address;
  }

  /**
   * Sends transport packet `m` (data window at the transport header) to `dst`.
   * Owns `m` afterwards. Returns 0, or -ENETUNREACH / -ENOBUFS / -EMSGSIZE.
   */
  output(m: number, src: number, dst: number, protocol: number, tos = 0, via: Netif | null = null): number {
    const core = this.core;
    const pool = core.pool;
    const nif = this.route(dst, via);
    if (nif === null) {
      core.stats.ipOutNoRoutes++;
      pool.freeChain(m);
      return ENETUNREACH;
    }
    const len = pool.len(m);
    if (len + IP_HDR_LEN > nif.mtu) {
      // A checksum over all fragments is nobody's to offload: finish it here.
      if (pool.csumPartial(m)) completeChecksum(pool.bytes, pool.off(m), len, protocol);
      const r = this.fragment(nif, pool.bytes, pool.off(m), len, src, dst, protocol, tos);
      pool.freeChain(m);
      return r;
    }
    const o = pool.off(m) - IP_HDR_LEN;
    pool.setData(m, o, len + IP_HDR_LEN);
    this.header(pool.bytes, o, len + IP_HDR_LEN, this.nextId++ & 0xffff, 0, src, dst, protocol, tos);
    core.stats.ipOutRequests++;
    return nif.outputIp(m, this.nextHop);
  }

  /**
   * The interface for a TCP super-segment to `dst` (TCP segmentation
   * offload), with nextHop and tsoMac set; null when the packet must go as
   * ordinary segments instead: the route's link cannot segment, or the next
   * hop is not resolved yet (ordinary output asks ARP and holds the packet).
   */
  tsoRoute(dst: number): Netif | null {
    const nif = this.route(dst);
    if (nif === null || nif.arp === null || nif.tsoMaxFrame === 0) return null;
    const mac = this.nextHop === INADDR_BROADCAST || this.nextHop === nif.broadcast ? null : nif.arp.known(this.nextHop);
    if (mac === null) return null;
    this.tsoMac = mac;
    return nif;
  }

  /**
   * Sends a TCP super-segment that the caller built in `b` (the stack's TSO
   * scratch) with room for the Ethernet and IPv4 headers before the
   * transport packet at `b[o + 14 + 20, o + 14 + 20 + len)`, over `nif` to
   * tsoMac (both from tsoRoute just before). The link cuts it into
   * `segments` segments of `gsoSize` payload bytes, numbering their IPv4
   * ids from this header's on, so the id counter moves past all of them.
   * Returns 0, or the link's negative errno (nothing was sent then).
   */
  outputTso(nif: Netif, b: Uint8Array, o: number, len: number, src: number, dst: number, gsoSize: number, segments: number): number {
    const ip = o + ETHER_HDR_LEN;
    this.header(b, ip, len + IP_HDR_LEN, this.nextId & 0xffff, 0, src, dst, IPPROTO_TCP, 0);
    const r = nif.transmitTso(b, o, ETHER_HDR_LEN + IP_HDR_LEN + len, this.tsoMac!, gsoSize);
    if (r < 0) return r;
    this.nextId = (this.nextId + segments) & 0xffff;
    this.core.stats.ipOutRequests += segments;
    return 0;
  }

  /**
   * Sends a transport packet held in `b[off, off+len)` (any array; copied),
   * fragmenting it when it exceeds the MTU. Returns 0 or a negative errno.
   */
  outputBytes(b: Uint8Array, off: number, len: number, src: number, dst: number, protocol: number, tos = 0, via: Netif | null = null): number {
    const nif = this.route(dst, via);
    if (nif === null) {
      this.core.stats.ipOutNoRoutes++;
      return ENETUNREACH;
    }
    if (len + IP_HDR_LEN > nif.mtu) return this.fragment(nif, b, off, len, src, dst, protocol, tos);
    const pool = this.core.pool;
    const m = pool.alloc();
    if (m < 0) {
      this.core.stats.noMbufs++;
      return ENOBUFS;
    }
    const o = pool.off(m);
    copyBytes(pool.bytes, o + IP_HDR_LEN, b, off, len);
    pool.setData(m, o, len + IP_HDR_LEN);
    this.header(pool.bytes, o, len + IP_HDR_LEN, this.nextId++ & 0xffff, 0, src, dst, protocol, tos);
    this.core.stats.ipOutRequests++;
    return nif.outputIp(m, this.nextHop);
  }

  /** Splits a payload into fragments of the interface's MTU (RFC 791 §3.2 "Fragmentation"). */
  private fragment(nif: Netif, b: Uint8Array, off: number, len: number, src: number, dst: number, protocol: number, tos: number): number {
    const core = this.core;
    const pool = core.pool;
    if (len + IP_HDR_LEN > 65535) return EMSGSIZE;
    const chunkMax = (nif.mtu - IP_HDR_LEN) & ~7;
    const nextHop = this.nextHop;
    const id = this.nextId++ & 0xffff;
    for (let done = 0; done < len; done += chunkMax) {
      const n = Math.min(chunkMax, len - done);
      const m = pool.alloc();
      if (m < 0) {
        core.stats.noMbufs++;
        return ENOBUFS;
      }
      const o = pool.off(m);
      copyBytes(pool.bytes, o + IP_HDR_LEN, b, off + done, n);
      pool.setData(m, o, n + IP_HDR_LEN);
      const more = done + n < len ? IP_MF : 0;
      this.header(pool.bytes, o, n + IP_HDR_LEN, id, more | (done >>> 3), src, dst, protocol, tos);
      core.stats.ipFragCreates++;
      core.stats.ipOutRequests++;
      nif.outputIp(m, nextHop);
    }
    core.stats.ipFragOKs++;
    return 0;
  }

  private header(b: Uint8Array, o: number, total: number, id: number, flagsFrag: number, src: number, dst: number, protocol: number, tos: number): void {
    b[o + IP_VHL] = 0x45;
    b[o + IP_TOS] = tos;
    put16(b, o + IP_LEN, total);
    put16(b, o + IP_ID, id);
    put16(b, o + IP_OFF, flagsFrag);
    b[o + IP_TTL] = IPDEFTTL;
    b[o + IP_P] = protocol;
    put16(b, o + IP_SUM, 0);
    put32(b, o + IP_SRC, src);
    put32(b, o + IP_DST, dst);
    put16(b, o + IP_SUM, checksum(b, o, IP_HDR_LEN));
  }
}
