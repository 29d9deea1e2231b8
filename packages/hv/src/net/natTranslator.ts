/**
 * The user backend's address translator: it sits on the wire between the
 * guest and the gateway stack (a netchannel NetStack that owns only the
 * gateway address) and makes that stack a transparent proxy.
 *
 * Guest → gateway (`ingress`): a TCP or UDP flow to any destination is
 * rewritten to be addressed to the gateway's proxy port, from a per-flow NAT
 * port (see natTable.ts), so the stack accepts it as one of its own
 * connections and the NAT port names the original destination. A pure SYN
 * first goes to the TCP handler, which may hold it until the host connection
 * is made. ARP for the DNS address and pings to it are answered here (the
 * stack owns only the gateway address).
 *
 * Gateway → guest (`egress`): segments and datagrams from a proxy port get
 * their source turned back into the original destination and their
 * destination port into the guest's.
 *
 * Translation rewrites addresses and ports in place and fixes the IP, TCP and
 * UDP checksums incrementally (RFC 1624). Frames it does not understand pass
 * through untouched: the gateway stack validates everything itself.
 */
import { adjust16, adjust32 } from './checksumAdjust.js';
import { FragmentMemory } from './fragmentMemory.js';
import {
  ARP_PACKET, ARPHRD_ETHER, ARPOP_REPLY, ARPOP_REQUEST, ETH_HEADER, ETHERTYPE_ARP, ETHERTYPE_IP, get16, get32, ICMP_ECHO,
  ICMP_ECHO_REQUEST, ICMP_ECHOREPLY, INADDR_BROADCAST, IP_HEADER, IP_MF, IP_OFFMASK, IPPROTO_ICMP, IPPROTO_TCP,
  IPPROTO_UDP, put16, put32, TCP_HEADER, TH_ACK, TH_RST, TH_SYN, UDP_HEADER,
} from './frameLayout.js';
import type { NatFlow, NatTable } from './natTable.js';

/** The gateway stack's TCP port that accepts every proxied connection. */
export const TCP_PROXY_PORT = 1;
/** The gateway stack's TCP port where nothing listens: a SYN steered there is answered with RST (refused). */
export const TCP_REFUSE_PORT = 2;
/** The gateway stack's UDP port that receives every proxied datagram. */
export const UDP_PROXY_PORT = 1;

/** Ingress verdict: hand the (rewritten) frame to the gateway stack. */
export const NAT_FORWARD = 0;
/** Ingress verdict: the translator answered or dropped the frame; free it. */
export const NAT_CONSUMED = 1;

/** The TCP side of the proxy, as the translator needs it. */
export interface TcpNatHandler {
  /**
   * A pure SYN from the guest. `flow` is the live flow for its 4-tuple, if
   * any. Returns the flow to translate it with, or null when the SYN was held
   * (the handler replays it later through ingress) or dropped.
   */
  guestSyn(flow: NatFlow | undefined, src: number, sport: number, dst: number, dport: number, frame: Uint8Array, off: number, len: number): NatFlow | null;
  /** The gateway stack answered a refused flow with RST: the flow is done. */
  refusedReset(flow: NatFlow): void;
}

/** The UDP side of the proxy, as the translator needs it. */
export interface UdpNatHandler {
  /** True for the gateway's own UDP ports (DHCP, hostfwd sessions): datagrams to them pass untranslated. */
  isGatewayPort(port: number): boolean;
  /** A datagram from the guest: the flow to translate it with, or null to drop it. */
  guestDatagram(src: number, sport: number, dst: number, dport: number): NatFlow | null;
}

/** The addresses the translator serves. */
export interface TranslatorAddresses {
  /** The gateway stack's address and MAC. */
  readonly gateway: number;
  readonly gatewayMac: Uint8Array;
  /** The DNS server address (answered through the gateway). */
  readonly dns: number;
  /** The guest subnet and its mask. */
  readonly network: number;
  readonly netmask: number;
}

/** Delivers a frame the translator built itself (ARP and ping replies) to the guest. */
export type GuestReply = (frame: Uint8Array, offset: number, length: number) => void;

/** Smallest Ethernet frame without FCS, bytes. */
const ETHER_MIN = 60;
const ETH_HLEN = ETH_HEADER.SIZE;
const IP_HLEN = IP_HEADER.SIZE;

/** The translator of one user backend. */
export class NatTranslator {
  private readonly inFrags = new FragmentMemory();
  private readonly outFrags = new FragmentMemory();
  private readonly reply = new Uint8Array(2048);

  constructor(
    private readonly addr: TranslatorAddresses,
    private readonly tcpFlows: NatTable<NatFlow>,
    private readonly udpFlows: NatTable<NatFlow>,
    private readonly tcp: TcpNatHandler,
    private readonly udp: UdpNatHandler,
    private readonly toGuest: GuestReply,
  ) {}

  /** Rewrites a frame from the guest in place (`b` is the translator's own copy). Returns NAT_FORWARD or NAT_CONSUMED. */
  ingress(b: Uint8Array, o: number, len: number): number {
    if (len < ETH_HLEN) return NAT_CONSUMED;
    const type = get16(b, o + ETH_HEADER.type.offset);
    if (type === ETHERTYPE_ARP) return this.arpIn(b, o, len);
    if (type !== ETHERTYPE_IP) return NAT_FORWARD;
    const ip = o + ETH_HLEN;
    const hl = ipHeaderLength(b, ip, len - ETH_HLEN);
    if (hl === 0) return NAT_FORWARD;
    const src = get32(b, ip + IP_HEADER.src.offset);
    const dst = get32(b, ip + IP_HEADER.dst.offset);
    if (!this.onSubnet(src) || dst === INADDR_BROADCAST || dst === (this.addr.network | ~this.addr.netmask) >>> 0) return NAT_FORWARD;
    const proto = b[ip + IP_HEADER.p.offset]!;
    const off = get16(b, ip + IP_HEADER.off.offset);
    const id = get16(b, ip + IP_HEADER.id.offset);
    if ((off & IP_OFFMASK) !== 0) {
      const to = this.inFrags.recall(src, dst, proto, id);
      if (to >= 0) setAddress(b, ip, IP_HEADER.dst.offset, to);
      return NAT_FORWARD;
    }
    const l4 = ip + hl;
    const l4len = Math.min(get16(b, ip + IP_HEADER.len.offset), len - ETH_HLEN) - hl;
    if (proto === IPPROTO_ICMP) return this.pingIn(b, o, ip, l4, l4len, dst);
    const flow = proto === IPPROTO_TCP ? this.tcpIn(b, o, len, l4, l4len, src, dst)
      : proto === IPPROTO_UDP ? this.udpIn(b, l4, l4len, src, dst) : undefined;
    if (flow === undefined) return NAT_FORWARD;
    if (flow === null) return NAT_CONSUMED;
    translate(b, ip, l4, proto, IP_HEADER.dst.offset, this.addr.gateway, flow.natPort, flow.gatewayPort);
    if ((off & IP_MF) !== 0) this.inFrags.remember(src, dst, proto, id, this.addr.gateway);
    return NAT_FORWARD;
  }

  /** Rewrites a frame from the gateway stack in place (`b` is the translator's own copy). Returns false to drop it. */
  egress(b: Uint8Array, o: number, len: number): boolean {
    if (len < ETH_HLEN + IP_HLEN || get16(b, o + ETH_HEADER.type.offset) !== ETHERTYPE_IP) return true;
    const ip = o + ETH_HLEN;
    const hl = ipHeaderLength(b, ip, len - ETH_HLEN);
    if (hl === 0 || get32(b, ip + IP_HEADER.src.offset) !== this.addr.gateway) return true;
    const dst = get32(b, ip + IP_HEADER.dst.offset);
    const proto = b[ip + IP_HEADER.p.offset]!;
    const off = get16(b, ip + IP_HEADER.off.offset);
    const id = get16(b, ip + IP_HEADER.id.offset);
    if ((off & IP_OFFMASK) !== 0) {
      const from = this.outFrags.recall(this.addr.gateway, dst, proto, id);
      if (from >= 0) setAddress(b, ip, IP_HEADER.src.offset, from);
      return true;
    }
    const l4 = ip + hl;
    if (len - (l4 - o) < UDP_HEADER.SIZE) return true;
    const sport = get16(b, l4);
    let flow: NatFlow | undefined;
    if (proto === IPPROTO_TCP && (sport === TCP_PROXY_PORT || sport === TCP_REFUSE_PORT)) flow = this.tcpFlows.byNatPort(get16(b, l4 + 2));
    else if (proto === IPPROTO_UDP && sport === UDP_PROXY_PORT) flow = this.udpFlows.byNatPort(get16(b, l4 + 2));
    else return true;
    if (flow === undefined || flow.guestAddr !== dst) return false;
    translate(b, ip, l4, proto, IP_HEADER.src.offset, flow.destAddr, flow.destPort, flow.guestPort);
    if ((off & IP_MF) !== 0) this.outFrags.remember(this.addr.gateway, dst, proto, id, flow.destAddr);
    if (proto === IPPROTO_TCP && sport === TCP_REFUSE_PORT && (b[l4 + TCP_HEADER.flags.offset]! & TH_RST) !== 0) this.tcp.refusedReset(flow);
    return true;
  }

  private onSubnet(a: number): boolean {
    return ((a ^ this.addr.network) & this.addr.netmask) === 0 && a !== this.addr.gateway && a !== this.addr.dns;
  }

  /** TCP: the flow to translate with, undefined to pass untranslated, null to drop. */
  private tcpIn(b: Uint8Array, o: number, len: number, l4: number, l4len: number, src: number, dst: number): NatFlow | null | undefined {
    if (l4len < TCP_HEADER.SIZE) return undefined;
    const sport = get16(b, l4 + TCP_HEADER.sport.offset);
    const dport = get16(b, l4 + TCP_HEADER.dport.offset);
    const flags = b[l4 + TCP_HEADER.flags.offset]!;
    const flow = this.tcpFlows.lookup(src, sport, dst, dport);
    if ((flags & (TH_SYN | TH_ACK | TH_RST)) === TH_SYN) return this.tcp.guestSyn(flow, src, sport, dst, dport, b, o, len);
    return flow;
  }

  /** UDP: the flow to translate with, undefined to pass untranslated, null to drop. */
  private udpIn(b: Uint8Array, l4: number, l4len: number, src: number, dst: number): NatFlow | null | undefined {
    if (l4len < UDP_HEADER.SIZE) return undefined;
    const dport = get16(b, l4 + UDP_HEADER.dport.offset);
    if (dst === this.addr.gateway && this.udp.isGatewayPort(dport)) return undefined;
    return this.udp.guestDatagram(src, get16(b, l4 + UDP_HEADER.sport.offset), dst, dport);
  }

  /** ARP: answers requests for the DNS address (the gateway stack answers for its own). */
  private arpIn(b: Uint8Array, o: number, len: number): number {
    const a = o + ETH_HLEN;
    if (len < ETH_HLEN + ARP_PACKET.SIZE) return NAT_FORWARD;
    if (get16(b, a + ARP_PACKET.htype.offset) !== ARPHRD_ETHER || get16(b, a + ARP_PACKET.ptype.offset) !== ETHERTYPE_IP) return NAT_FORWARD;
    if (get16(b, a + ARP_PACKET.oper.offset) !== ARPOP_REQUEST || get32(b, a + ARP_PACKET.tpa.offset) !== this.addr.dns) return NAT_FORWARD;
    const r = this.reply;
    r.fill(0, 0, ETHER_MIN);
    r.set(b.subarray(a + ARP_PACKET.sha.offset, a + ARP_PACKET.sha.offset + 6), ETH_HEADER.dst.offset);
    r.set(this.addr.gatewayMac, ETH_HEADER.src.offset);
    put16(r, ETH_HEADER.type.offset, ETHERTYPE_ARP);
    r.set(b.subarray(a, a + ARP_PACKET.oper.offset), ETH_HLEN); // htype, ptype, hlen, plen as asked
    put16(r, ETH_HLEN + ARP_PACKET.oper.offset, ARPOP_REPLY);
    r.set(this.addr.gatewayMac, ETH_HLEN + ARP_PACKET.sha.offset);
    put32(r, ETH_HLEN + ARP_PACKET.spa.offset, this.addr.dns);
    r.set(b.subarray(a + ARP_PACKET.sha.offset, a + ARP_PACKET.spa.offset + 4), ETH_HLEN + ARP_PACKET.tha.offset);
    this.toGuest(r, 0, ETHER_MIN);
    return NAT_CONSUMED;
  }

  /** ICMP: echo requests to the DNS address are answered here; the rest goes to the gateway stack. */
  private pingIn(b: Uint8Array, o: number, ip: number, l4: number, l4len: number, dst: number): number {
    if (dst !== this.addr.dns || l4len < ICMP_ECHO.SIZE || b[l4 + ICMP_ECHO.type.offset] !== ICMP_ECHO_REQUEST) return NAT_FORWARD;
    const total = l4 - o + l4len;
    const r = this.reply;
    if (total > r.length) return NAT_CONSUMED;
    r.set(b.subarray(o, o + total));
    const rip = ip - o;
    r.set(b.subarray(o + ETH_HEADER.src.offset, o + ETH_HEADER.src.offset + 6), ETH_HEADER.dst.offset);
    r.set(this.addr.gatewayMac, ETH_HEADER.src.offset);
    put32(r, rip + IP_HEADER.src.offset, dst); // swapping the addresses leaves the header checksum as it was
    put32(r, rip + IP_HEADER.dst.offset, get32(b, ip + IP_HEADER.src.offset));
    const icmp = l4 - o;
    const before = get16(r, icmp);
    r[icmp + ICMP_ECHO.type.offset] = ICMP_ECHOREPLY;
    put16(r, icmp + ICMP_ECHO.sum.offset, adjust16(get16(r, icmp + ICMP_ECHO.sum.offset), before, get16(r, icmp)));
    this.toGuest(r, 0, Math.max(total, ETHER_MIN));
    return NAT_CONSUMED;
  }
}

/** The IPv4 header length of the packet at `ip` when its version, lengths and size are sane; else 0. */
function ipHeaderLength(b: Uint8Array, ip: number, avail: number): number {
  if (avail < IP_HLEN) return 0;
  const vhl = b[ip + IP_HEADER.vhl.offset]!;
  const hl = (vhl & 0x0f) * 4;
  const total = get16(b, ip + IP_HEADER.len.offset);
  if (vhl >>> 4 !== 4 || hl < IP_HLEN || total < hl || hl > avail) return 0;
  return hl;
}

/** Rewrites the IP address at `ip + field` and the header checksum. */
function setAddress(b: Uint8Array, ip: number, field: number, to: number): void {
  const old = get32(b, ip + field);
  put32(b, ip + field, to);
  put16(b, ip + IP_HEADER.sum.offset, adjust32(get16(b, ip + IP_HEADER.sum.offset), old, to));
}

/**
 * Rewrites one address (`field`: the source or the destination) and both
 * ports of a TCP or UDP packet, in wire order (`sport`, `dport`), fixing the
 * IP header checksum and the transport checksum (whose pseudo-header covers
 * the address).
 */
function translate(b: Uint8Array, ip: number, l4: number, proto: number, field: number, addr: number, sport: number, dport: number): void {
  const sumAt = l4 + (proto === IPPROTO_TCP ? TCP_HEADER.sum.offset : UDP_HEADER.sum.offset);
  const oldAddr = get32(b, ip + field);
  const oldS = get16(b, l4);
  const oldD = get16(b, l4 + 2);
  setAddress(b, ip, field, addr);
  put16(b, l4, sport);
  put16(b, l4 + 2, dport);
  const sum = get16(b, sumAt);
  if (proto === IPPROTO_UDP && sum === 0) return; // RFC 768: no checksum was sent
  let s = adjust32(sum, oldAddr, addr);
  s = adjust16(adjust16(s, oldS, sport), oldD, dport);
  put16(b, sumAt, proto === IPPROTO_UDP && s === 0 ? 0xffff : s);
}
