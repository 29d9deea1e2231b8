/**
 * Runs the packet hooks (packetHooks.ts) at the link and IP points: fills the
 * one reusable HookPacket and implements in-place UDP replies. Checksums of
 * UDP and TCP are verified before an IP hook sees the packet, so a hook can
 * trust the payload. Owned by the stack's thread.
 */
import { MBUF_SIZE } from '../mbufPool.js';
import type { NetInterface } from '../netInterface.js';
import { PFIL_CONSUMED, type HookPacket, type PacketHook } from '../packetHooks.js';
import type { IpOutput } from './ipOutput.js';
import type { Netif } from './netif.js';
import type { StackCore } from './stackCore.js';
import { get16, get32, put16, put32 } from './wire/bytes.js';
import { checksum, finishChecksum, pseudoHeaderSum, sumBytes } from './wire/checksum.js';
import { ETH_DST, ETH_SRC, ETHER_ADDR_LEN, ETHER_HDR_LEN } from './wire/ethernet.js';
import { IP_DST, IP_LEN, IP_OFF, IP_P, IP_SRC, IP_SUM, IP_TTL, IPDEFTTL, IPPROTO_TCP, IPPROTO_UDP } from './wire/ipv4.js';
import { UDP_HDR_LEN, UH_DPORT, UH_SPORT, UH_SUM, UH_ULEN } from './wire/udp.js';

const EINVAL = -22;
const EMSGSIZE = -90;
const EPROTOTYPE = -91;

class Packet implements HookPacket {
  bytes: Uint8Array;
  iface!: NetInterface;
  nif!: Netif;
  m = -1;
  frameOffset = -1;
  frameLength = 0;
  ipOffset = -1;
  ipLength = 0;
  protocol = 0;
  source = 0;
  destination = 0;
  l4Offset = -1;
  l4Length = 0;
  private readonly runner: HookRunner;

  constructor(runner: HookRunner, bytes: Uint8Array) {
    this.runner = runner;
    this.bytes = bytes;
  }

  replyUdp(payloadLength: number): number {
    return this.runner.replyUdp(this, payloadLength);
  }
}

/** The hook lists and their runner. */
export class HookRunner {
  private readonly core: StackCore;
  private readonly ip: IpOutput;
  private readonly faces: (nif: Netif) => NetInterface;
  readonly link: PacketHook[] = [];
  readonly inet: PacketHook[] = [];
  private readonly pkt: Packet;
  /** Hooks that threw (their packet was passed on). */
  failures = 0;

  constructor(core: StackCore, ip: IpOutput, faces: (nif: Netif) => NetInterface) {
    this.core = core;
    this.ip = ip;
    this.faces = faces;
    this.pkt = new Packet(this, core.pool.bytes);
  }

  /** Netif.linkHook: true when a hook consumed the frame. */
  runLink(nif: Netif, m: number): boolean {
    const p = this.reset(nif, m);
    p.frameOffset = this.core.pool.off(m);
    p.frameLength = this.core.pool.len(m);
    return this.run(this.link);
  }

  /** IpInput.hook: true when a hook consumed the datagram. Verifies UDP/TCP checksums first (a bad one passes the packet on, to be counted and dropped). */
  runInet(nif: Netif, m: number, ipOff: number, hl: number, len: number): boolean {
    const b = this.core.pool.bytes;
    const p = this.reset(nif, m);
    p.frameOffset = nif.link !== null && m >= 0 && ipOff - ETHER_HDR_LEN >= this.core.pool.storage(m) ? ipOff - ETHER_HDR_LEN : -1;
    p.frameLength = p.frameOffset >= 0 ? len + ETHER_HDR_LEN : 0;
    p.ipOffset = ipOff;
    p.ipLength = len;
    p.protocol = b[ipOff + IP_P]!;
    p.source = get32(b, ipOff + IP_SRC);
    p.destination = get32(b, ipOff + IP_DST);
    p.l4Offset = ipOff + hl;
    p.l4Length = len - hl;
    if (p.protocol === IPPROTO_UDP || p.protocol === IPPROTO_TCP) {
      if (p.l4Length < (p.protocol === IPPROTO_UDP ? UDP_HDR_LEN : 20)) return false;
      const skip = p.protocol === IPPROTO_UDP && get16(b, p.l4Offset + UH_SUM) === 0;
      if (!skip && finishChecksum(sumBytes(b, p.l4Offset, p.l4Length, pseudoHeaderSum(p.source, p.destination, p.protocol, p.l4Length))) !== 0) return false;
    }
    return this.run(this.inet);
  }

  /** HookPacket.replyUdp. */
  replyUdp(p: Packet, payloadLength: number): number {
    if (p.ipOffset < 0) return EINVAL;
    if (p.protocol !== IPPROTO_UDP) return EPROTOTYPE;
    const b = this.core.pool.bytes;
    const ipOff = p.ipOffset;
    const hl = p.l4Offset - ipOff;
    const ulen = UDP_HDR_LEN + payloadLength;
    const total = hl + ulen;
    if (payloadLength < 0 || total > p.nif.mtu) return EMSGSIZE;
    if (p.m >= 0 && ipOff + total > this.core.pool.storage(p.m) + MBUF_SIZE) return EMSGSIZE;
    const l4 = p.l4Offset;
    const src = this.ip.isLocal(p.destination) ? p.destination : p.nif.address;
    const dst = p.source;
    const sport = get16(b, l4 + UH_DPORT);
    put16(b, l4 + UH_DPORT, get16(b, l4 + UH_SPORT));
    put16(b, l4 + UH_SPORT, sport);
    put16(b, l4 + UH_ULEN, ulen);
    put16(b, l4 + UH_SUM, 0);
    const sum = finishChecksum(sumBytes(b, l4, ulen, pseudoHeaderSum(src, dst, IPPROTO_UDP, ulen)));
    put16(b, l4 + UH_SUM, sum === 0 ? 0xffff : sum);
    if (p.m < 0 || p.frameOffset < 0) {
      // Reassembled or loopback: send through IP output (one copy).
      return this.ip.outputBytes(b, l4, ulen, src, dst, IPPROTO_UDP);
    }
    put32(b, ipOff + IP_SRC, src);
    put32(b, ipOff + IP_DST, dst);
    put16(b, ipOff + IP_LEN, total);
    put16(b, ipOff + IP_OFF, 0);
    b[ipOff + IP_TTL] = IPDEFTTL;
    put16(b, ipOff + IP_SUM, 0);
    put16(b, ipOff + IP_SUM, checksum(b, ipOff, hl));
    const f = p.frameOffset;
    const mac = p.nif.mac;
    for (let i = 0; i < ETHER_ADDR_LEN; i++) {
      b[f + ETH_DST + i] = b[f + ETH_SRC + i]!;
      b[f + ETH_SRC + i] = mac[i]!;
    }
    this.core.stats.framesOut++;
    this.core.stats.udpOutDatagrams++;
    return p.nif.link!.transmit(b, f, ETHER_HDR_LEN + total);
  }

  private reset(nif: Netif, m: number): Packet {
    const p = this.pkt;
    p.nif = nif;
    p.iface = this.faces(nif);
    p.m = m;
    p.frameOffset = -1;
    p.frameLength = 0;
    p.ipOffset = -1;
    p.ipLength = 0;
    p.protocol = 0;
    p.source = 0;
    p.destination = 0;
    p.l4Offset = -1;
    p.l4Length = 0;
    return p;
  }

  private run(list: PacketHook[]): boolean {
    for (let i = 0; i < list.length; i++) {
      let v: number;
      try {
        v = list[i]!(this.pkt);
      } catch {
        this.failures++;
        continue;
      }
      if (v === PFIL_CONSUMED) return true;
    }
    return false;
  }
}
