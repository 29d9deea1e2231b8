/**
 * ICMP (RFC 792; RFC 1122 §3.2.2): echo replies, echo requests for ping,
 * errors passed to the transports (port and protocol unreachable, and the
 * rest as soft errors), and error generation under RFC 1122's rules — never
 * about an ICMP error, a broadcast, a non-initial fragment, or a martian
 * source — with a token-bucket rate limit. Owned by the stack's thread.
 */
import type { IpOutput } from './ipOutput.js';
import type { IpProtocol } from './ipProtocol.js';
import type { Netif } from './netif.js';
import type { StackCore } from './stackCore.js';
import { get16, get32, put16 } from './wire/bytes.js';
import { checksum } from './wire/checksum.js';
import {
  ICMP_ECHO, ICMP_ECHO_REQUEST, ICMP_ECHOREPLY, ICMP_ERROR, ICMP_HDR_LEN, ICMP_TIMXCEED, ICMP_UNREACH, ICMP_UNREACH_PORT,
  ICMP_UNREACH_PROTOCOL,
} from './wire/icmp.js';
import { INADDR_BROADCAST, IP_DST, IP_HDR_LEN, IP_LEN, IP_OFF, IP_OFFMASK, IP_P, IP_SRC, IP_VHL, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from './wire/ipv4.js';

const ECONNREFUSED = -111;
const EHOSTUNREACH = -113;
const ENETUNREACH = -101;
const ENOPROTOOPT = -92;
/** ICMP errors we may send per second (Linux icmp_ratelimit allows about this many). */
const ERROR_RATE = 100;

/** Where ICMP errors about our own datagrams go. */
export interface IcmpErrorSink {
  /** `errno` (negative) for the datagram src:sport → dst:dport of `protocol`; `seq` is the quoted TCP sequence number. */
  icmpError(protocol: number, errno: number, hard: boolean, src: number, sport: number, dst: number, dport: number, seq: number): void;
}

/** Receives echo replies. */
export type EchoListener = (src: number, id: number, seq: number, payloadOff: number, payloadLen: number) => void;

/** ICMP for one stack. */
export class IcmpLayer implements IpProtocol {
  private readonly core: StackCore;
  private readonly ip: IpOutput;
  /** Set by the stack. */
  errors: IcmpErrorSink | null = null;
  /** Set by the stack: echo replies. */
  onEchoReply: EchoListener | null = null;
  private tokens = ERROR_RATE;
  private lastRefill = 0;

  constructor(core: StackCore, ip: IpOutput) {
    this.core = core;
    this.ip = ip;
  }

  /** IpProtocol: ICMP input. */
  input(nif: Netif, m: number, _ipOff: number, l4off: number, l4len: number, src: number, dst: number): boolean {
    const core = this.core;
    const b = core.pool.bytes;
    core.stats.icmpIn++;
    if (l4len < ICMP_HDR_LEN || checksum(b, l4off, l4len) !== 0) {
      core.stats.icmpInErrors++;
      return false;
    }
    const type = b[l4off]!;
    if (type === ICMP_ECHO_REQUEST) {
      if (dst === INADDR_BROADCAST || dst === nif.broadcast || dst >>> 28 === 0xe) return false; // no broadcast echo (RFC 1122 §3.2.2.6 allows ignoring)
      return this.echoReply(m, l4off, l4len, src, dst);
    }
    if (type === ICMP_ECHOREPLY) {
      this.onEchoReply?.(src, get16(b, l4off + ICMP_ECHO.id.offset), get16(b, l4off + ICMP_ECHO.seq.offset), l4off + ICMP_HDR_LEN, l4len - ICMP_HDR_LEN);
      return false;
    }
    if (type === ICMP_UNREACH || type === ICMP_TIMXCEED) this.errorInput(b, type, b[l4off + 1]!, l4off + ICMP_ERROR.SIZE, l4len - ICMP_ERROR.SIZE);
    return false;
  }

  /** Sends an echo request (ping). Returns 0 or a negative errno. */
  sendEcho(dst: number, id: number, seq: number, payload: Uint8Array): number {
    const pool = this.core.pool;
    const m = pool.alloc();
    if (m < 0) return -105;
    const b = pool.bytes;
    const o = pool.off(m);
    const len = ICMP_HDR_LEN + payload.length;
    if (len > 1480) {
      pool.free(m);
      return -90;
    }
    b[o] = ICMP_ECHO_REQUEST;
    b[o + 1] = 0;
    put16(b, o + ICMP_ECHO.checksum.offset, 0);
    put16(b, o + ICMP_ECHO.id.offset, id);
    put16(b, o + ICMP_ECHO.seq.offset, seq);
    b.set(payload, o + ICMP_HDR_LEN);
    put16(b, o + ICMP_ECHO.checksum.offset, checksum(b, o, len));
    pool.setData(m, o, len);
    this.core.stats.icmpOut++;
    return this.ip.output(m, this.ip.sourceFor(dst), dst, IPPROTO_ICMP);
  }

  /**
   * Sends an ICMP error about the datagram whose IP header is at `ipOff`
   * (`src`/`dst` are its addresses), obeying RFC 1122 §3.2.2's prohibitions
   * and the rate limit.
   */
  sendError(type: number, code: number, ipOff: number, src: number, dst: number, _m: number): void {
    const core = this.core;
    const b = core.pool.bytes;
    if (src === 0 || src === INADDR_BROADCAST || src >>> 28 === 0xe || dst === INADDR_BROADCAST || dst >>> 28 === 0xe) return;
    if ((get16(b, ipOff + IP_OFF) & IP_OFFMASK) !== 0) return;
    if (b[ipOff + IP_P] === IPPROTO_ICMP) {
      const hl0 = (b[ipOff + IP_VHL]! & 0x0f) * 4;
      const t = b[ipOff + hl0]!;
      if (t !== ICMP_ECHO_REQUEST && t !== ICMP_ECHOREPLY) return; // never about an ICMP error
    }
    if (!this.takeToken()) return;
    const pool = core.pool;
    const m = pool.alloc();
    if (m < 0) return;
    const hl = (b[ipOff + IP_VHL]! & 0x0f) * 4;
    const quote = Math.min(get16(b, ipOff + IP_LEN), hl + 8);
    const o = pool.off(m);
    const len = ICMP_ERROR.SIZE + quote;
    b[o] = type;
    b[o + 1] = code;
    put16(b, o + 2, 0);
    put16(b, o + 4, 0);
    put16(b, o + 6, 0);
    b.copyWithin(o + ICMP_ERROR.SIZE, ipOff, ipOff + quote);
    put16(b, o + 2, checksum(b, o, len));
    pool.setData(m, o, len);
    core.stats.icmpOut++;
    this.ip.output(m, dst, src, IPPROTO_ICMP);
  }

  /** Protocol unreachable for a datagram nobody handles. */
  protocolUnreachable(ipOff: number): void {
    const b = this.core.pool.bytes;
    this.sendError(ICMP_UNREACH, ICMP_UNREACH_PROTOCOL, ipOff, get32(b, ipOff + IP_SRC), get32(b, ipOff + IP_DST), -1);
  }

  private echoReply(m: number, l4off: number, l4len: number, src: number, dst: number): boolean {
    const core = this.core;
    const b = core.pool.bytes;
    const from = this.ip.isLocal(dst) ? dst : this.ip.sourceFor(src);
    if (m < 0) {
      // A reassembled (large) echo: answer from the scratch copy.
      b[l4off] = ICMP_ECHOREPLY;
      put16(b, l4off + 2, 0);
      put16(b, l4off + 2, checksum(b, l4off, l4len));
      core.stats.icmpOut++;
      this.ip.outputBytes(b, l4off, l4len, from, src, IPPROTO_ICMP);
      return false;
    }
    // Answer in place: the request's mbuf becomes the reply.
    b[l4off] = ICMP_ECHOREPLY;
    put16(b, l4off + 2, 0);
    put16(b, l4off + 2, checksum(b, l4off, l4len));
    core.pool.setData(m, l4off, l4len);
    core.stats.icmpOut++;
    this.ip.output(m, from, src, IPPROTO_ICMP);
    return true;
  }

  private errorInput(b: Uint8Array, type: number, code: number, q: number, qlen: number): void {
    if (qlen < IP_HDR_LEN + 8) {
      this.core.stats.icmpInErrors++;
      return;
    }
    const hl = (b[q + IP_VHL]! & 0x0f) * 4;
    if (hl < IP_HDR_LEN || qlen < hl + 8) return;
    const proto = b[q + IP_P]!;
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) return;
    const src = get32(b, q + IP_SRC);
    const dst = get32(b, q + IP_DST);
    const sport = get16(b, q + hl);
    const dport = get16(b, q + hl + 2);
    const seq = proto === IPPROTO_TCP ? get32(b, q + hl + 4) : 0;
    let errno = EHOSTUNREACH;
    let hard = false;
    if (type === ICMP_UNREACH) {
      if (code === ICMP_UNREACH_PORT) {
        errno = ECONNREFUSED;
        hard = true;
      } else if (code === ICMP_UNREACH_PROTOCOL) {
        errno = ENOPROTOOPT;
        hard = true;
      } else if (code === 0) {
        errno = ENETUNREACH;
      }
    }
    this.errors?.icmpError(proto, errno, hard, src, sport, dst, dport, seq);
  }

  private takeToken(): boolean {
    const now = this.core.now();
    if (now - this.lastRefill >= 1000) {
      this.tokens = ERROR_RATE;
      this.lastRefill = now;
    }
    if (this.tokens <= 0) return false;
    this.tokens--;
    return true;
  }
}
