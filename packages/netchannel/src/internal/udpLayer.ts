/**
 * UDP (RFC 768; RFC 1122 §4.1): checksum verified whenever the sender set one,
 * demultiplexing by port with the most specific binding winning (connected
 * 4-tuple, then bound address, then wildcard), broadcasts to every match,
 * ICMP port-unreachable for closed ports, and output with fragmentation for
 * datagrams above the MTU. Owned by the stack's thread.
 */
import type { IcmpLayer } from './icmpLayer.js';
import type { IpOutput } from './ipOutput.js';
import type { IpProtocol } from './ipProtocol.js';
import type { Netif } from './netif.js';
import type { StackCore } from './stackCore.js';
import { copyBytes, get16, put16 } from './wire/bytes.js';
import { finishChecksum, pseudoHeaderSum, sumBytes } from './wire/checksum.js';
import { partialChecksum } from './txChecksum.js';
import { ICMP_UNREACH, ICMP_UNREACH_PORT } from './wire/icmp.js';
import { INADDR_BROADCAST, IP_HDR_LEN, IPPROTO_UDP } from './wire/ipv4.js';
import { UDP_HDR_LEN, UH_DPORT, UH_SPORT, UH_SUM, UH_ULEN } from './wire/udp.js';
import { MBUF_HEADROOM, MBUF_SIZE } from '../mbufPool.js';

const EADDRINUSE = -98;
const EMSGSIZE = -90;
const ENOBUFS = -105;
/** Largest UDP payload over IPv4, bytes. */
export const UDP_MAX_PAYLOAD = 65535 - IP_HDR_LEN - UDP_HDR_LEN;

/** A UDP socket as the layer sees it. */
export interface UdpEndpoint {
  laddr: number;
  lport: number;
  /** Connected peer, or 0. */
  faddr: number;
  fport: number;
  reuseAddr: boolean;
  /**
   * A datagram whose payload is `pool.bytes[off, off+len)`; `m` is its mbuf,
   * or -1 when it must be copied. Returns true when it kept `m`.
   */
  udpDeliver(m: number, off: number, len: number, src: number, sport: number, dst: number): boolean;
  /** An ICMP error for a datagram this endpoint sent (negative errno). */
  udpError(errno: number): void;
}

/** UDP for one stack. */
export class UdpLayer implements IpProtocol {
  private readonly core: StackCore;
  private readonly ip: IpOutput;
  private readonly icmp: IcmpLayer;
  private readonly ports = new Map<number, UdpEndpoint[]>();
  /** 64 KiB of arena for building datagrams that need fragmenting. */
  private readonly txScratch: number;
  private nextEphemeral: number;

  constructor(core: StackCore, ip: IpOutput, icmp: IcmpLayer, txScratch: number) {
    this.core = core;
    this.ip = ip;
    this.icmp = icmp;
    this.txScratch = txScratch;
    this.nextEphemeral = 49152 + (core.entropy.random32() % 16384);
  }

  /** Endpoints bound (for leak checks). */
  get endpoints(): number {
    let n = 0;
    for (const l of this.ports.values()) n += l.length;
    return n;
  }

  /** Binds `ep` to laddr:lport (0 = ephemeral). Returns 0 or -EADDRINUSE. */
  bind(ep: UdpEndpoint, laddr: number, lport: number): number {
    let port = lport;
    if (port === 0) {
      port = this.ephemeral();
      if (port === 0) return EADDRINUSE;
    } else {
      for (const o of this.ports.get(port) ?? []) {
        const overlap = o.laddr === 0 || laddr === 0 || o.laddr === laddr;
        if (overlap && !(ep.reuseAddr && o.reuseAddr)) return EADDRINUSE;
      }
    }
    ep.laddr = laddr;
    ep.lport = port;
    let list = this.ports.get(port);
    if (list === undefined) {
      list = [];
      this.ports.set(port, list);
    }
    list.push(ep);
    return 0;
  }

  /** Removes `ep`'s binding. */
  unbind(ep: UdpEndpoint): void {
    const list = this.ports.get(ep.lport);
    if (list === undefined) return;
    const i = list.indexOf(ep);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.ports.delete(ep.lport);
  }

  /** IpProtocol: UDP input. */
  input(nif: Netif, m: number, ipOff: number, l4off: number, l4len: number, src: number, dst: number): boolean {
    const core = this.core;
    const b = core.pool.bytes;
    const ulen = l4len >= UDP_HDR_LEN ? get16(b, l4off + UH_ULEN) : 0;
    if (ulen < UDP_HDR_LEN || ulen > l4len) {
      core.stats.udpInErrors++;
      return false;
    }
    // RFC 768: a zero checksum means the sender computed none (allowed over IPv4).
    if (get16(b, l4off + UH_SUM) !== 0 && finishChecksum(sumBytes(b, l4off, ulen, pseudoHeaderSum(src, dst, IPPROTO_UDP, ulen))) !== 0) {
      core.stats.udpInErrors++;
      return false;
    }
    const sport = get16(b, l4off + UH_SPORT);
    const dport = get16(b, l4off + UH_DPORT);
    const list = this.ports.get(dport);
    const bcast = dst === INADDR_BROADCAST || dst === nif.broadcast || dst >>> 28 === 0xe;
    if (list === undefined || list.length === 0) {
      core.stats.udpNoPorts++;
      if (!bcast) this.icmp.sendError(ICMP_UNREACH, ICMP_UNREACH_PORT, ipOff, src, dst, m);
      return false;
    }
    const off = l4off + UDP_HDR_LEN;
    const len = ulen - UDP_HDR_LEN;
    if (bcast) {
      let kept = false;
      for (const ep of list) {
        if (ep.laddr !== 0 && ep.laddr !== dst && ep.laddr !== nif.address) continue;
        if (ep.faddr !== 0 && (ep.faddr !== src || ep.fport !== sport)) continue;
        core.stats.udpInDatagrams++;
        // Every receiver but the first gets a copy; the first may keep the mbuf.
        if (ep.udpDeliver(kept ? -1 : m, off, len, src, sport, dst)) kept = true;
      }
      return kept;
    }
    const ep = this.match(list, src, sport, dst);
    if (ep === null) {
      core.stats.udpNoPorts++;
      this.icmp.sendError(ICMP_UNREACH, ICMP_UNREACH_PORT, ipOff, src, dst, m);
      return false;
    }
    core.stats.udpInDatagrams++;
    return ep.udpDeliver(m, off, len, src, sport, dst);
  }

  /** The most specific endpoint for a unicast datagram (the last bound wins ties, as Linux does). */
  private match(list: UdpEndpoint[], src: number, sport: number, dst: number): UdpEndpoint | null {
    let best: UdpEndpoint | null = null;
    let bestScore = -1;
    for (const ep of list) {
      if (ep.laddr !== 0 && ep.laddr !== dst) continue;
      if (ep.faddr !== 0 && (ep.faddr !== src || ep.fport !== sport)) continue;
      const score = (ep.laddr !== 0 ? 1 : 0) + (ep.faddr !== 0 ? 2 : 0);
      if (score >= bestScore) {
        best = ep;
        bestScore = score;
      }
    }
    return best;
  }

  /** An ICMP error about a datagram we sent to dst:dport from sport (RFC 1122 §4.1.3.3). */
  ctlInput(errno: number, src: number, sport: number, dst: number, dport: number): void {
    for (const ep of this.ports.get(sport) ?? []) {
      if (ep.faddr === dst && ep.fport === dport && (ep.laddr === 0 || ep.laddr === src)) ep.udpError(errno);
    }
  }

  /**
   * Sends `payload[off, off+len)` from laddr:lport to dst:dport (`via` forces
   * an interface, for DHCP). Returns `len` or a negative errno.
   */
  output(laddr: number, lport: number, dst: number, dport: number, payload: Uint8Array, off: number, len: number, via: Netif | null = null): number {
    if (len > UDP_MAX_PAYLOAD) return EMSGSIZE;
    const core = this.core;
    const pool = core.pool;
    const src = laddr !== 0 ? laddr : via !== null ? via.address : this.ip.sourceFor(dst);
    const ulen = UDP_HDR_LEN + len;
    const small = ulen <= MBUF_SIZE - MBUF_HEADROOM;
    let m = -1;
    let o: number;
    if (small) {
      m = pool.alloc();
      if (m < 0) {
        core.stats.noMbufs++;
        return ENOBUFS;
      }
      o = pool.off(m);
    } else {
      o = this.txScratch;
    }
    const b = pool.bytes;
    put16(b, o + UH_SPORT, lport);
    put16(b, o + UH_DPORT, dport);
    put16(b, o + UH_ULEN, ulen);
    put16(b, o + UH_SUM, 0);
    copyBytes(b, o + UDP_HDR_LEN, payload, off, len);
    if (small && core.txCsumPartial) {
      put16(b, o + UH_SUM, partialChecksum(src, dst, IPPROTO_UDP, ulen));
      pool.setCsumPartial(m, true);
    } else {
      const sum = finishChecksum(sumBytes(b, o, ulen, pseudoHeaderSum(src, dst, IPPROTO_UDP, ulen)));
      put16(b, o + UH_SUM, sum === 0 ? 0xffff : sum); // RFC 768: a computed zero is sent as all ones
    }
    core.stats.udpOutDatagrams++;
    let r: number;
    if (small) {
      pool.setData(m, o, ulen);
      r = this.ip.output(m, src, dst, IPPROTO_UDP, 0, via);
    } else {
      r = this.ip.outputBytes(b, o, ulen, src, dst, IPPROTO_UDP, 0, via);
    }
    return r < 0 ? r : len;
  }

  private ephemeral(): number {
    for (let i = 0; i < 16384; i++) {
      const p = 49152 + ((this.nextEphemeral - 49152 + i) % 16384);
      if (!this.ports.has(p)) {
        this.nextEphemeral = p + 1;
        return p;
      }
    }
    return 0;
  }
}
