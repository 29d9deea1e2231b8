/**
 * TCP output (RFC 9293 §3.8–3.9, after 4.4BSD's tcp_output): decides whether
 * a segment is due — data the windows allow, subject to Nagle (RFC 9293
 * §3.7.4) and sender silly-window avoidance (RFC 9293 §3.8.6.2.1), a SYN or
 * FIN, a requested or delayed ACK, a window update — and builds it straight
 * into an mbuf: header, options (MSS, window scale, SACK-permitted,
 * timestamps, SACK blocks), data copied from the send ring, checksum.
 * Also the retransmission primitive recovery uses, and replies without a
 * connection (RST, keepalive probes). Runs on the connection's thread.
 *
 * TCP segmentation offload: when the route's link can segment
 * (Link.tsoMaxBytes), new data the windows, Nagle and SWS rules let go now
 * leaves as one super-segment of several MSS-sized pieces instead of a
 * segment per piece — exactly the bytes the per-segment loop would have
 * sent (a last piece shorter than the MSS only when that loop would have
 * sent it too) — built in the stack's scratch region, since it cannot fit a
 * 2 KiB mbuf, and handed to the link synchronously. Retransmissions (after
 * a timeout, fast retransmit, SACK holes), SYNs, forced probes and
 * everything during recovery stay MSS-sized.
 */
import { MBUF_HEADROOM } from '../../mbufPool.js';
import { put16, put32 } from '../wire/bytes.js';
import { finishChecksum, pseudoHeaderSum, sumBytes } from '../wire/checksum.js';
import { partialChecksum } from '../txChecksum.js';
import { ETHER_HDR_LEN } from '../wire/ethernet.js';
import { IP_HDR_LEN, IPPROTO_TCP } from '../wire/ipv4.js';
import {
  TCP_HDR_LEN, TCPOPT_MAXSEG, TCPOPT_NOP, TCPOPT_SACK, TCPOPT_SACK_PERMITTED, TCPOPT_TIMESTAMP, TCPOPT_WINDOW,
  TH_ACK, TH_ACKNUM, TH_DPORT, TH_FIN, TH_FLAGS, TH_OFF, TH_PUSH, TH_RST, TH_SEQ, TH_SPORT, TH_SUM, TH_SYN, TH_URP, TH_WIN,
} from '../wire/tcp.js';
import { sackPipe } from './tcpCongestion.js';
import { currentRto } from './tcpRtt.js';
import type { Netif } from '../netif.js';
import {
  TF_ACKNOW, TF_DELACK, TF_FORCE, TF_NODELAY, TF_RCVD_TSTMP, TF_RECOVERY, TF_REQ_SACK, TF_REQ_SCALE, TF_REQ_TSTMP,
  TF_SACK_PERMIT, TF_SHUTWR, type Tcb,
} from './tcb.js';
import { seqAdd, seqDiff, seqGt, seqLt, seqMax } from './tcpSeq.js';
import type { TcpShared } from './tcpShared.js';
import { canReceiveData, TCPS_CLOSED, TCPS_LISTEN, TCPS_SYN_RECEIVED } from './tcpStates.js';

/** Control bits each state sends (4.4BSD tcp_outflags), indexed by state. */
const OUT_FLAGS = Uint8Array.of(
  TH_RST | TH_ACK, 0, TH_SYN, TH_SYN | TH_ACK, TH_ACK, TH_ACK,
  TH_FIN | TH_ACK, TH_FIN | TH_ACK, TH_FIN | TH_ACK, TH_ACK, TH_ACK,
);
/** Bytes of the timestamps option with its two NOPs. */
const TS_OPT_LEN = 12;

/** Sends whatever the connection may send now, then arms the persist timer if data is stuck behind a closed window. */
export function tcpOutput(sh: TcpShared, tp: Tcb): void {
  if (tp.state === TCPS_CLOSED || tp.state === TCPS_LISTEN) return;
  if ((tp.flags & (TF_RECOVERY | TF_SACK_PERMIT)) === (TF_RECOVERY | TF_SACK_PERMIT)) sackRetransmit(sh, tp);
  for (let guard = 0; guard < 100_000 && outputOnce(sh, tp); guard++) {
    /* one segment per pass */
  }
  const snd = tp.snd;
  if (snd !== null && snd.len > seqDiff(tp.sndNxt, tp.sndBase) && tp.sndMax === tp.sndUna && !tp.tRexmt.armed && !tp.tPersist.armed) {
    setPersist(sh, tp);
  }
}

/** Arms the persist timer with backoff (RFC 9293 §3.8.6.1; 4.4BSD bounds). */
export function setPersist(sh: TcpShared, tp: Tcb): void {
  const base = tp.srtt === 0 ? sh.cfg.initialRtoMs : tp.srtt + 4 * tp.rttvar;
  const t = Math.min(Math.max(base * 2 ** tp.persistShift, sh.cfg.persistMinMs), sh.cfg.persistMaxMs);
  sh.core.timers.armIn(tp.tPersist, t);
}

function outputOnce(sh: TcpShared, tp: Tcb): boolean {
  let flags = OUT_FLAGS[tp.state]!;
  if ((flags & TH_SYN) !== 0) {
    if (tp.sndNxt !== tp.iss) return false; // SYN in flight; nothing else may go before ESTABLISHED
    if (!emit(sh, tp, tp.iss, 0, flags)) return false;
    afterSend(sh, tp, tp.iss, 1, false);
    return true;
  }
  const buffered = tp.snd === null ? 0 : tp.snd.len; // TIME-WAIT orphans have freed their buffers
  const dataEnd = seqAdd(tp.sndBase, buffered);
  const off = seqDiff(tp.sndNxt, tp.sndBase);
  const avail = Math.max(buffered - off, 0);
  let usable: number;
  if ((tp.flags & (TF_RECOVERY | TF_SACK_PERMIT)) === (TF_RECOVERY | TF_SACK_PERMIT)) {
    usable = Math.min(seqDiff(seqAdd(tp.sndUna, tp.sndWnd), tp.sndNxt), tp.cwnd - sackPipe(tp));
  } else {
    usable = seqDiff(seqAdd(tp.sndUna, Math.min(tp.sndWnd, tp.cwnd + tp.limitedTransmit * tp.maxseg)), tp.sndNxt);
  }
  const force = (tp.flags & TF_FORCE) !== 0;
  if (force && usable < 1) usable = 1;
  const segMax = tp.mss - optionsLength(tp);
  const tsoNif = avail > segMax && usable > segMax && !force ? tsoInterface(sh, tp) : null;
  let len = Math.max(Math.min(avail, usable, tsoNif === null ? segMax : tsoPayloadMax(tp, tsoNif, segMax)), 0);
  if (len > segMax) {
    // Whole MSS pieces go now, as the loop would send them; a short last piece only if the loop would send it too.
    const tail = len % segMax;
    const finNext = (flags & TH_FIN) !== 0 && (tp.flags & TF_SHUTWR) !== 0 && seqAdd(tp.sndNxt, len) === dataEnd;
    if (tail !== 0 && !finNext && !tailDue(tp, tail, off + len, buffered)) len -= tail;
  }
  const fin = (flags & TH_FIN) !== 0 && (tp.flags & TF_SHUTWR) !== 0 && seqAdd(tp.sndNxt, len) === dataEnd;
  if (!fin) flags &= ~TH_FIN;
  if (!(len > 0 && dataDue(tp, len, segMax, off, buffered, force)) && !fin && (tp.flags & TF_ACKNOW) === 0 && !windowUpdateDue(tp)) {
    return false;
  }
  if (len > 0 && seqAdd(tp.sndNxt, len) === dataEnd) flags |= TH_PUSH;
  const carries = len > 0 || fin;
  const seq = carries ? tp.sndNxt : tp.sndMax;
  if (!(len > segMax ? emitTso(sh, tp, tsoNif!, seq, len, flags, segMax) : emit(sh, tp, seq, len, flags))) return false;
  if (carries) afterSend(sh, tp, seq, len + (fin ? 1 : 0), seqLt(seq, tp.sndMax));
  tp.flags &= ~TF_FORCE;
  return true;
}

/** Nagle and sender SWS avoidance: may `len` bytes go now? */
function dataDue(tp: Tcb, len: number, segMax: number, off: number, buffered: number, force: boolean): boolean {
  if (len >= segMax || force) return true;
  if (seqLt(tp.sndNxt, tp.sndMax)) return true; // retransmitting after a timeout
  const idle = tp.sndMax === tp.sndUna;
  if ((idle || (tp.flags & TF_NODELAY) !== 0) && off + len >= buffered) return true;
  return tp.maxSndWnd > 0 && len >= tp.maxSndWnd / 2;
}

/**
 * Whether a last piece of `tail` (< MSS) bytes, ending at send-buffer offset
 * `end`, would go out right after full segments in the per-segment loop:
 * then the connection is no longer idle, so only TCP_NODELAY at the end of
 * the buffered data or the half-window rule of dataDue let it go.
 */
function tailDue(tp: Tcb, tail: number, end: number, buffered: number): boolean {
  if ((tp.flags & TF_NODELAY) !== 0 && end >= buffered) return true;
  return tp.maxSndWnd > 0 && tail >= tp.maxSndWnd / 2;
}

/**
 * The interface to send a super-segment of new data of `tp` through, or
 * null when this segment goes the ordinary way: not new data (a retransmit
 * after a timeout), recovery, no route with segmentation offload, or the
 * next hop not yet resolved.
 */
function tsoInterface(sh: TcpShared, tp: Tcb): Netif | null {
  if (tp.sndNxt !== tp.sndMax || (tp.flags & TF_RECOVERY) !== 0 || sh.core.tsoScratch < 0) return null;
  return sh.ip.tsoRoute(tp.faddr);
}

/** Most payload bytes of a super-segment over `nif`: whole MSS pieces within its frame limit and the 64 KiB of IPv4. */
function tsoPayloadMax(tp: Tcb, nif: Netif, segMax: number): number {
  const hdrs = IP_HDR_LEN + TCP_HDR_LEN + optionsLength(tp);
  const room = Math.min(nif.tsoMaxFrame - ETHER_HDR_LEN, 65535) - hdrs;
  return room > segMax ? room - (room % segMax) : segMax;
}

/** Sequence bookkeeping after `used` sequence numbers went out at `seq`. */
function afterSend(sh: TcpShared, tp: Tcb, seq: number, used: number, rexmt: boolean): void {
  tp.sndNxt = seqAdd(seq, used);
  if (seqGt(tp.sndNxt, tp.sndMax)) {
    if ((tp.flags & TF_RCVD_TSTMP) === 0 && tp.rtTime < 0 && !rexmt) {
      tp.rtTime = sh.now();
      tp.rtSeq = seq;
    }
    tp.sndMax = tp.sndNxt;
  }
  // RFC 6298 §5.1: start the timer when data goes out and it is not running.
  if (!tp.tRexmt.armed && !tp.tPersist.armed) sh.core.timers.armIn(tp.tRexmt, currentRto(tp, sh.cfg));
}

/**
 * Retransmits one segment starting at `seq` (fast retransmit, NewReno partial
 * ACKs, SACK holes) without moving SND.NXT; `limit` bounds the range
 * (a hole's end). Includes the FIN if the segment reaches it and it was sent.
 * Returns the sequence space covered, 0 when nothing was sent.
 */
export function retransmitAt(sh: TcpShared, tp: Tcb, seq: number, limit: number): number {
  const snd = tp.snd;
  if (snd === null) return 0;
  const dataEnd = seqAdd(tp.sndBase, snd.len);
  const from = seqDiff(seq, tp.sndBase);
  if (from < 0) return 0;
  const segMax = tp.mss - optionsLength(tp);
  const len = Math.max(Math.min(snd.len - from, segMax, seqDiff(limit, seq)), 0);
  const fin = (tp.flags & TF_SHUTWR) !== 0 && seqAdd(seq, len) === dataEnd && seqGt(tp.sndMax, dataEnd);
  if (len === 0 && !fin) return 0;
  const flags = TH_ACK | (fin ? TH_FIN : 0) | (len > 0 && seqAdd(seq, len) === dataEnd ? TH_PUSH : 0);
  if (!emit(sh, tp, seq, len, flags)) return 0;
  // Karn: a timed segment that is retransmitted gives no sample.
  if (tp.rtTime >= 0 && seqLt(seq, seqAdd(tp.rtSeq, 1)) && seqGt(seqAdd(seq, len), tp.rtSeq)) tp.rtTime = -1;
  return len + (fin ? 1 : 0);
}

/** RFC 6675 §5 (NextSeg rule 1): retransmit SACK holes while the pipe leaves room. */
function sackRetransmit(sh: TcpShared, tp: Tcb): void {
  const fack = tp.sack.fack(tp.sndUna);
  for (let guard = 0; guard < 1000; guard++) {
    if (tp.cwnd - sackPipe(tp) < tp.maxseg) return;
    const from = seqMax(tp.highRxt, tp.sndUna);
    if (!tp.sack.hole(from, fack)) return;
    const start = tp.sack.holeStart;
    const sent = retransmitAt(sh, tp, start, tp.sack.holeEnd);
    if (sent === 0) return;
    tp.highRxt = seqAdd(start, sent);
  }
}

/** Bytes of options on a non-SYN segment now: timestamps and any SACK blocks. */
export function optionsLength(tp: Tcb): number {
  let n = (tp.flags & TF_RCVD_TSTMP) !== 0 ? TS_OPT_LEN : 0;
  if ((tp.flags & TF_SACK_PERMIT) !== 0 && tp.rcv !== null && tp.rcv.nOoo > 0) {
    n += 4 + 8 * Math.min(tp.rcv.nOoo, n > 0 ? 3 : 4);
  }
  return n;
}

/** The window to advertise, unscaled bytes: receiver SWS avoidance (RFC 1122 §4.2.3.3), never shrinking (RFC 9293 §3.8.6.2.2). */
function advertisedWindow(tp: Tcb): number {
  const rcv = tp.rcv;
  if (rcv === null) return 0;
  let space = rcv.space;
  if (space < rcv.cap / 4 && space < tp.mss) space = 0;
  const max = (65535 << tp.rcvScale);
  if (space > max) space = max;
  const old = seqDiff(tp.rcvAdv, tp.rcvNxt);
  return space < old ? old : space;
}

/** A window update is due when it opens by two segments or half the buffer (4.4BSD). */
function windowUpdateDue(tp: Tcb): boolean {
  if (!canReceiveData(tp.state) || tp.state === TCPS_SYN_RECEIVED) return false;
  const rcv = tp.rcv;
  if (rcv === null) return false;
  const win = Math.min(rcv.space, (65535 << tp.rcvScale));
  const adv = win - seqDiff(tp.rcvAdv, tp.rcvNxt);
  return adv >= 2 * tp.mss || 2 * adv >= rcv.cap;
}

/** Builds and sends one segment of `tp`. Returns false when no mbuf was free. */
function emit(sh: TcpShared, tp: Tcb, seq: number, len: number, flags: number): boolean {
  const core = sh.core;
  const pool = core.pool;
  const m = pool.alloc(MBUF_HEADROOM);
  if (m < 0) {
    core.stats.noMbufs++;
    return false;
  }
  const total = fillSegment(sh, tp, pool.bytes, pool.off(m), seq, len, flags, core.txCsumPartial);
  if (core.txCsumPartial) pool.setCsumPartial(m, true);
  pool.setData(m, pool.off(m), total);
  core.stats.tcpOutSegs++;
  if ((len > 0 || (flags & (TH_SYN | TH_FIN)) !== 0) && seqLt(seq, tp.sndMax)) core.stats.tcpRetransSegs++;
  sh.ip.output(m, tp.laddr, tp.faddr, IPPROTO_TCP);
  return true;
}

/**
 * Builds a super-segment of `len` (> segMax) new bytes of `tp` in the
 * stack's TSO scratch and hands it to `nif` (from tsoInterface just before)
 * to be cut into `segMax`-byte pieces. When the link refuses it (its large
 * buffers all in flight: -ENOBUFS), the same bytes go as ordinary segments,
 * the pieces the link would have made, so a busy device costs batching,
 * never a retransmission timeout. Returns false only when no mbuf was free
 * for that (what went out before counts as sent).
 */
function emitTso(sh: TcpShared, tp: Tcb, nif: Netif, seq: number, len: number, flags: number, segMax: number): boolean {
  const core = sh.core;
  const o = core.tsoScratch;
  const total = fillSegment(sh, tp, core.pool.bytes, o + ETHER_HDR_LEN + IP_HDR_LEN, seq, len, flags, true);
  const pieces = Math.ceil(len / segMax);
  if (sh.ip.outputTso(nif, core.pool.bytes, o, total, tp.laddr, tp.faddr, segMax, pieces) === 0) {
    core.stats.tcpOutSegs += pieces;
    core.stats.tcpTsoFrames++;
    core.stats.tcpTsoBytes += len;
    return true;
  }
  for (let done = 0; done < len; done += segMax) {
    const n = Math.min(segMax, len - done);
    const last = done + n === len;
    if (!emit(sh, tp, seqAdd(seq, done), n, last ? flags : flags & ~(TH_FIN | TH_PUSH))) {
      if (done > 0) afterSend(sh, tp, seq, done, false);
      return false;
    }
  }
  return true;
}

/**
 * Writes the TCP header, options and `len` bytes of data from the send
 * ring at `b[o...]`, with the checksum complete or (`partial`) left as the
 * pseudo-header sum for the link, and records the ACK and window it
 * carries. Returns the segment's length. Call only for a segment that is
 * then sent.
 */
function fillSegment(sh: TcpShared, tp: Tcb, b: Uint8Array, o: number, seq: number, len: number, flags: number, partial: boolean): number {
  const core = sh.core;
  const syn = (flags & TH_SYN) !== 0;
  const p = syn ? writeSynOptions(sh, tp, b, o + TCP_HDR_LEN) : writeOptions(sh, tp, b, o + TCP_HDR_LEN, flags);
  const hlen = p - o;
  if (len > 0) tp.snd!.copyOut(b, p, seqDiff(seq, tp.sndBase), len);
  let win = syn ? Math.min(tp.rcv === null ? tp.rcvBufCap : tp.rcv.space, 65535) : advertisedWindow(tp);
  if (!syn) win = win >>> tp.rcvScale;
  put16(b, o + TH_SPORT, tp.lport);
  put16(b, o + TH_DPORT, tp.fport);
  put32(b, o + TH_SEQ, seq);
  put32(b, o + TH_ACKNUM, (flags & TH_ACK) !== 0 ? tp.rcvNxt : 0);
  b[o + TH_OFF] = (hlen >>> 2) << 4;
  b[o + TH_FLAGS] = flags;
  put16(b, o + TH_WIN, win);
  put16(b, o + TH_URP, 0);
  put16(b, o + TH_SUM, 0);
  const total = hlen + len;
  if (partial) {
    put16(b, o + TH_SUM, partialChecksum(tp.laddr, tp.faddr, IPPROTO_TCP, total));
  } else {
    put16(b, o + TH_SUM, finishChecksum(sumBytes(b, o, total, pseudoHeaderSum(tp.laddr, tp.faddr, IPPROTO_TCP, total))));
  }
  if ((flags & TH_ACK) !== 0) {
    const edge = seqAdd(tp.rcvNxt, syn ? win : (win << tp.rcvScale));
    if (seqGt(edge, tp.rcvAdv)) tp.rcvAdv = edge;
    tp.lastAckSent = tp.rcvNxt;
    tp.flags &= ~(TF_ACKNOW | TF_DELACK);
    core.timers.cancel(tp.tDelack);
  }
  return total;
}

/** SYN options: MSS, then what we offer (active open) or what the peer offered and we accepted (passive). */
function writeSynOptions(sh: TcpShared, tp: Tcb, b: Uint8Array, p0: number): number {
  let p = p0;
  b[p++] = TCPOPT_MAXSEG;
  b[p++] = 4;
  put16(b, p, tp.mssOffer);
  p += 2;
  const ts = (tp.flags & TF_REQ_TSTMP) !== 0;
  const sack = (tp.flags & TF_REQ_SACK) !== 0;
  if (sack) {
    if (!ts) {
      b[p++] = TCPOPT_NOP;
      b[p++] = TCPOPT_NOP;
    }
    b[p++] = TCPOPT_SACK_PERMITTED;
    b[p++] = 2;
  }
  if (ts) {
    if (!sack) {
      b[p++] = TCPOPT_NOP;
      b[p++] = TCPOPT_NOP;
    }
    p = writeTimestamp(sh, tp, b, p);
  }
  if ((tp.flags & TF_REQ_SCALE) !== 0) {
    b[p++] = TCPOPT_NOP;
    b[p++] = TCPOPT_WINDOW;
    b[p++] = 3;
    b[p++] = tp.rcvScale;
  }
  return p;
}

/** Non-SYN options: timestamps when in use, SACK blocks when out-of-order data is held (never on RST). */
function writeOptions(sh: TcpShared, tp: Tcb, b: Uint8Array, p0: number, flags: number): number {
  let p = p0;
  if ((flags & TH_RST) !== 0) return p;
  const ts = (tp.flags & TF_RCVD_TSTMP) !== 0;
  if (ts) {
    b[p++] = TCPOPT_NOP;
    b[p++] = TCPOPT_NOP;
    p = writeTimestamp(sh, tp, b, p);
  }
  const rcv = tp.rcv;
  if ((tp.flags & TF_SACK_PERMIT) !== 0 && rcv !== null && rcv.nOoo > 0) {
    const n = rcv.sackBlocks(sh.sackOut, ts ? 3 : 4);
    b[p++] = TCPOPT_NOP;
    b[p++] = TCPOPT_NOP;
    b[p++] = TCPOPT_SACK;
    b[p++] = 2 + 8 * n;
    for (let i = 0; i < 2 * n; i++, p += 4) put32(b, p, sh.sackOut[i]!);
  }
  return p;
}

function writeTimestamp(sh: TcpShared, tp: Tcb, b: Uint8Array, p: number): number {
  b[p] = TCPOPT_TIMESTAMP;
  b[p + 1] = 10;
  put32(b, p + 2, sh.tsNow(tp));
  put32(b, p + 6, tp.tsRecent);
  return p + 10;
}

/**
 * Sends a bare segment not generated by the state machine: a RST for a
 * segment without a connection, a keepalive probe, an abort. Never throws;
 * drops silently when no mbuf is free.
 */
export function tcpRespond(sh: TcpShared, laddr: number, faddr: number, lport: number, fport: number, seq: number, ack: number, flags: number, win: number): void {
  const core = sh.core;
  const pool = core.pool;
  const m = pool.alloc(MBUF_HEADROOM);
  if (m < 0) {
    core.stats.noMbufs++;
    return;
  }
  const b = pool.bytes;
  const o = pool.off(m);
  put16(b, o + TH_SPORT, lport);
  put16(b, o + TH_DPORT, fport);
  put32(b, o + TH_SEQ, seq);
  put32(b, o + TH_ACKNUM, ack);
  b[o + TH_OFF] = (TCP_HDR_LEN >>> 2) << 4;
  b[o + TH_FLAGS] = flags;
  put16(b, o + TH_WIN, win);
  put16(b, o + TH_URP, 0);
  put16(b, o + TH_SUM, 0);
  put16(b, o + TH_SUM, finishChecksum(sumBytes(b, o, TCP_HDR_LEN, pseudoHeaderSum(laddr, faddr, IPPROTO_TCP, TCP_HDR_LEN))));
  pool.setData(m, o, TCP_HDR_LEN);
  core.stats.tcpOutSegs++;
  if ((flags & TH_RST) !== 0) core.stats.tcpOutRsts++;
  sh.ip.output(m, laddr, faddr, IPPROTO_TCP);
}

/** RST for a segment that has no connection (RFC 9293 §3.10.7.1). Never answers a RST. */
export function respondRst(sh: TcpShared): void {
  const s = sh.seg;
  if ((s.flags & TH_RST) !== 0) return;
  if ((s.flags & TH_ACK) !== 0) {
    tcpRespond(sh, s.dst, s.src, s.dport, s.sport, s.ack, 0, TH_RST, 0);
  } else {
    const used = s.dataLen + ((s.flags & TH_SYN) !== 0 ? 1 : 0) + ((s.flags & TH_FIN) !== 0 ? 1 : 0);
    tcpRespond(sh, s.dst, s.src, s.dport, s.sport, 0, seqAdd(s.seq, used), TH_RST | TH_ACK, 0);
  }
}

/**
 * Sends a keepalive probe: SEG.SEQ = SND.UNA − 1, no data (RFC 1122
 * §4.2.3.6), with the connection's options so timestamps stay on every
 * segment (RFC 7323 §3.2).
 */
export function sendKeepalive(sh: TcpShared, tp: Tcb): void {
  const ackWanted = tp.flags & (TF_ACKNOW | TF_DELACK);
  emit(sh, tp, seqAdd(tp.sndUna, -1), 0, TH_ACK);
  tp.flags |= ackWanted; // a probe is not the ACK the peer may be owed
}

/** Sends RST|ACK on an existing connection (ABORT, RFC 9293 §3.10.5). */
export function sendReset(sh: TcpShared, tp: Tcb): void {
  tcpRespond(sh, tp.laddr, tp.faddr, tp.lport, tp.fport, tp.sndMax, tp.rcvNxt, TH_RST | TH_ACK, 0);
}
