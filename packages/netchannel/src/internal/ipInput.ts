/**
 * IPv4 input (RFC 791 §3.2; RFC 1122 §3.2.1): header validation with the
 * header checksum always verified, the host's address filter (no
 * forwarding), reassembly, the IP-level packet hook, and dispatch to the
 * registered transport protocols. Owned by the stack's thread.
 */
import type { IpOutput } from './ipOutput.js';
import type { IpProtocol } from './ipProtocol.js';
import type { Netif } from './netif.js';
import type { Reassembly } from './reassembly.js';
import type { StackCore } from './stackCore.js';
import { get16, get32 } from './wire/bytes.js';
import { checksum } from './wire/checksum.js';
import { INADDR_BROADCAST, IP_DST, IP_HDR_LEN, IP_LEN, IP_MF, IP_OFF, IP_OFFMASK, IP_P, IP_RF, IP_SRC, IP_VHL } from './wire/ipv4.js';

/**
 * The IP-level hook: sees a validated, complete datagram. Returns true when it
 * consumed the packet (the stack frees `m`, or nothing when `m` is -1).
 */
export type InetHook = (nif: Netif, m: number, ipOff: number, hl: number, len: number) => boolean;

/** IPv4 input for one stack. */
export class IpInput {
  private readonly core: StackCore;
  private readonly out: IpOutput;
  private readonly reasm: Reassembly;
  private readonly protocols: (IpProtocol | null)[] = new Array<IpProtocol | null>(256).fill(null);
  /** Called for protocols nobody registered (ICMP protocol-unreachable). */
  unknownProtocol: ((nif: Netif, ipOff: number, len: number) => void) | null = null;
  /** The IP-level packet hook, or null. */
  hook: InetHook | null = null;

  constructor(core: StackCore, out: IpOutput, reasm: Reassembly) {
    this.core = core;
    this.out = out;
    this.reasm = reasm;
  }

  /** Registers the input of transport protocol `proto`. */
  register(proto: number, p: IpProtocol): void {
    this.protocols[proto] = p;
  }

  /** Netif's ipInput: `m`'s data window starts at the IP header. Owns `m`. */
  input(nif: Netif, m: number): void {
    const core = this.core;
    const pool = core.pool;
    const b = pool.bytes;
    const o = pool.off(m);
    const avail = pool.len(m);
    core.stats.ipInReceives++;
    const hl = avail >= IP_HDR_LEN ? (b[o + IP_VHL]! & 0x0f) * 4 : 0;
    const len = hl > 0 ? get16(b, o + IP_LEN) : 0;
    if (hl < IP_HDR_LEN || b[o + IP_VHL]! >>> 4 !== 4 || len < hl || len > avail || checksum(b, o, hl) !== 0) {
      core.stats.ipInHdrErrors++;
      pool.freeChain(m);
      return;
    }
    pool.setData(m, o, len); // drop link padding
    const src = get32(b, o + IP_SRC);
    const dst = get32(b, o + IP_DST);
    if (!this.accepts(nif, src, dst)) {
      core.stats.ipInAddrErrors++;
      pool.freeChain(m);
      return;
    }
    const ff = get16(b, o + IP_OFF);
    if ((ff & IP_RF) !== 0) {
      core.stats.ipInHdrErrors++;
      pool.freeChain(m);
      return;
    }
    if ((ff & (IP_MF | IP_OFFMASK)) !== 0) {
      if (!this.reasm.insert(m, hl, len)) return;
      const d = this.reasm.done;
      this.deliver(nif, -1, d.off, d.hl, d.len, src, dst);
      return;
    }
    this.deliver(nif, m, o, hl, len, src, dst);
  }

  /** Hands a complete datagram to the hook and then its protocol; frees `m` unless kept. */
  private deliver(nif: Netif, m: number, o: number, hl: number, len: number, src: number, dst: number): void {
    const core = this.core;
    if (this.hook !== null && this.hook(nif, m, o, hl, len)) {
      core.stats.hookConsumed++;
      if (m >= 0) core.pool.freeChain(m);
      return;
    }
    const proto = core.pool.bytes[o + IP_P]!;
    const p = this.protocols[proto];
    if (p == null) {
      core.stats.ipInUnknownProtos++;
      this.unknownProtocol?.(nif, o, len);
      if (m >= 0) core.pool.freeChain(m);
      return;
    }
    core.stats.ipInDelivers++;
    if (!p.input(nif, m, o, o + hl, len - hl, src, dst) && m >= 0) core.pool.freeChain(m);
  }

  /** RFC 1122 §3.2.1.3: drop martian sources; accept our addresses (any interface), broadcasts, and anything while unconfigured. */
  private accepts(nif: Netif, src: number, dst: number): boolean {
    if (src === INADDR_BROADCAST || src >>> 28 === 0xe) return false;
    if (nif.link !== null && src >>> 24 === 127) return false;
    if (nif.link === null) return true;
    if (dst === INADDR_BROADCAST || dst === nif.broadcast || nif.address === 0) return true;
    return dst === nif.address || this.out.isLocal(dst);
  }
}
