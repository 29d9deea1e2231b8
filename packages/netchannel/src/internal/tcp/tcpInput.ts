/**
 * TCP input's front half (RFC 9293 §3.10.7): checksum and header validation,
 * the net-channel classifier (OSv: established-flow segments without
 * SYN/FIN/RST go to the owning thread's ring), demultiplexing, and the states
 * without a synchronized connection — CLOSED (RST), LISTEN (new children,
 * backlog limits) and SYN-SENT (handshake completion or simultaneous open).
 * TIME-WAIT may be reopened by a new SYN (RFC 6191). The synchronized states
 * continue in tcpInputSync.ts.
 */
import type { Netif } from '../netif.js';
import { get16, get32 } from '../wire/bytes.js';
import { finishChecksum, pseudoHeaderSum, sumBytes } from '../wire/checksum.js';
import { INADDR_BROADCAST, IPPROTO_TCP } from '../wire/ipv4.js';
import {
  parseTcpOptions, TCP_DEFAULT_MSS, TCP_HDR_LEN, TH_ACK, TH_ACKNUM, TH_DPORT, TH_FIN, TH_FLAGS, TH_OFF, TH_RST, TH_SEQ,
  TH_SPORT, TH_SYN, TH_WIN, TOF_MSS, TOF_SACKPERM, TOF_SCALE, TOF_TS,
} from '../wire/tcp.js';
import { respondRst, tcpOutput } from './tcpOutput.js';
import { rttSample } from './tcpRtt.js';
import {
  TF_ACKNOW, TF_PASSIVE, TF_RCVD_SCALE, TF_RCVD_TSTMP, TF_REQ_SACK, TF_REQ_SCALE, TF_REQ_TSTMP, TF_SACK_PERMIT, type Tcb,
} from './tcb.js';
import { syncInput } from './tcpInputSync.js';
import { seqAdd, seqGt, seqLeq } from './tcpSeq.js';
import type { TcpShared } from './tcpShared.js';
import { TCPS_CLOSED, TCPS_SYN_RECEIVED, TCPS_SYN_SENT, TCPS_TIME_WAIT } from './tcpStates.js';
import { tcpClose, tcpEstablished } from './tcpTransitions.js';

const ECONNREFUSED = -111;
/** Smallest MSS we accept from a peer (a tiny MSS would turn a window into a flood of segments). */
const MIN_PEER_MSS = 64;

/**
 * IpProtocol input for TCP. Returns true when `m` was kept (pushed onto a net
 * channel, with its data window reset to the IP header for the consumer).
 */
export function tcpInput(sh: TcpShared, nif: Netif, m: number, ipOff: number, l4off: number, l4len: number, src: number, dst: number): boolean {
  const core = sh.core;
  const b = core.pool.bytes;
  if (l4len < TCP_HDR_LEN) {
    core.stats.tcpInErrs++;
    return false;
  }
  // RFC 1122 §4.2.3.10: never for broadcast or multicast destinations.
  if (dst === INADDR_BROADCAST || dst >>> 28 === 0xe || (nif.link !== null && dst === nif.broadcast)) return false;
  const sport = get16(b, l4off + TH_SPORT);
  const dport = get16(b, l4off + TH_DPORT);
  if (m >= 0 && (b[l4off + TH_FLAGS]! & (TH_SYN | TH_FIN | TH_RST)) === 0) {
    const ch = sh.classifier.lookup(dst, dport, src, sport);
    if (ch !== null) {
      core.pool.setData(m, ipOff, l4off - ipOff + l4len);
      if (ch.push(m)) {
        core.stats.channelDelivered++;
        ch.waker.wake();
        return true;
      }
      core.stats.channelRingFull++;
    }
  }
  const tp = sh.table.lookup(dst, dport, src, sport);
  // Segments already on the flow's channel came first: run them before this one.
  if (tp !== null && tp.channel !== null && tp.channel.size > 0) sh.hooks.drainChannel(tp);
  if (!parseSegment(sh, b, l4off, l4len, src, dst)) return false;
  dispatch(sh, tp === null || tp.inTable ? tp : sh.table.lookup(dst, dport, src, sport));
  return false;
}

/** Channel consumer: processes one segment popped from a channel (data window at its IP header). */
export function tcpInputFromChannel(sh: TcpShared, m: number): void {
  const pool = sh.core.pool;
  const b = pool.bytes;
  const o = pool.off(m);
  const hl = (b[o]! & 0x0f) * 4;
  const src = get32(b, o + 12);
  const dst = get32(b, o + 16);
  if (!parseSegment(sh, b, o + hl, pool.len(m) - hl, src, dst)) return;
  const s = sh.seg;
  dispatch(sh, sh.table.lookup(dst, s.dport, src, s.sport));
}

/** Validates the header and checksum (always verified) and fills sh.seg. */
function parseSegment(sh: TcpShared, b: Uint8Array, l4off: number, l4len: number, src: number, dst: number): boolean {
  const off = (b[l4off + TH_OFF]! >>> 4) * 4;
  if (off < TCP_HDR_LEN || off > l4len || finishChecksum(sumBytes(b, l4off, l4len, pseudoHeaderSum(src, dst, IPPROTO_TCP, l4len))) !== 0) {
    sh.core.stats.tcpInErrs++;
    return false;
  }
  sh.core.stats.tcpInSegs++;
  const s = sh.seg;
  s.src = src;
  s.dst = dst;
  s.sport = get16(b, l4off + TH_SPORT);
  s.dport = get16(b, l4off + TH_DPORT);
  s.seq = get32(b, l4off + TH_SEQ);
  s.ack = get32(b, l4off + TH_ACKNUM);
  s.flags = b[l4off + TH_FLAGS]!;
  s.wnd = get16(b, l4off + TH_WIN);
  s.dataOff = l4off + off;
  s.dataLen = l4len - off;
  parseTcpOptions(b, l4off + TCP_HDR_LEN, off - TCP_HDR_LEN, (s.flags & TH_SYN) !== 0, s.opts);
  return true;
}

/** Routes sh.seg to the code for its connection's state. */
function dispatch(sh: TcpShared, tp: Tcb | null): void {
  if (tp === null || tp.state === TCPS_CLOSED) {
    listenOrReset(sh, 0);
    return;
  }
  if (tp.state === TCPS_SYN_SENT) {
    synSentInput(sh, tp);
    return;
  }
  if (tp.state === TCPS_TIME_WAIT && (sh.seg.flags & (TH_SYN | TH_ACK | TH_RST)) === TH_SYN && timeWaitMayReopen(sh, tp)) {
    const floor = seqAdd(tp.sndMax, 1 << 17);
    tcpClose(sh, tp);
    listenOrReset(sh, floor);
    return;
  }
  syncInput(sh, tp);
}

/** RFC 6191 / RFC 1122 §4.2.2.13: a SYN newer than the old connection may end its TIME-WAIT. */
function timeWaitMayReopen(sh: TcpShared, tp: Tcb): boolean {
  const o = sh.seg.opts;
  if ((tp.flags & TF_RCVD_TSTMP) !== 0 && (o.present & TOF_TS) !== 0) return ((o.tsVal - tp.tsRecent) | 0) > 0;
  return seqGt(sh.seg.seq, tp.rcvNxt);
}

function listenOrReset(sh: TcpShared, issFloor: number): void {
  const s = sh.seg;
  const lt = sh.table.listener(s.dst, s.dport);
  if (lt === null) {
    if ((s.flags & TH_RST) === 0) sh.core.stats.tcpRstNoListener++;
    respondRst(sh);
  } else listenInput(sh, lt, issFloor);
}

/** LISTEN (RFC 9293 §3.10.7.2): a SYN creates a child in SYN-RECEIVED, within the backlog limits. */
function listenInput(sh: TcpShared, lt: Tcb, issFloor: number): void {
  const s = sh.seg;
  if ((s.flags & TH_RST) !== 0) return;
  if ((s.flags & TH_ACK) !== 0) {
    sh.core.stats.tcpRstBadAck++;
    respondRst(sh);
    return;
  }
  if ((s.flags & (TH_SYN | TH_FIN)) !== TH_SYN) return;
  if (lt.acceptQueue.length >= lt.backlog || lt.synQueueLen >= sh.cfg.synBacklog) {
    sh.core.stats.tcpListenOverflows++;
    return;
  }
  const tp = sh.hooks.newChild(lt);
  if (tp === null) return;
  tp.laddr = s.dst;
  tp.lport = s.dport;
  tp.faddr = s.src;
  tp.fport = s.sport;
  tp.flags |= TF_PASSIVE;
  tp.listener = lt;
  lt.synQueueLen++;
  tp.state = TCPS_SYN_RECEIVED;
  sh.live++;
  let iss = sh.isn.isn(tp.laddr, tp.lport, tp.faddr, tp.fport, sh.now());
  if (issFloor !== 0 && seqLeq(iss, issFloor)) iss = issFloor;
  startSequences(tp, iss);
  tp.irs = s.seq;
  tp.rcvNxt = seqAdd(s.seq, 1);
  tp.rcvAdv = tp.rcvNxt;
  applySynOptions(sh, tp);
  tp.sndWnd = s.wnd;
  tp.maxSndWnd = s.wnd;
  tp.sndWl1 = s.seq;
  sh.table.insert(tp);
  sh.table.bind(tp);
  sh.core.stats.tcpPassiveOpens++;
  tcpOutput(sh, tp);
}

/** Sets the send sequence space for a new connection with initial sequence number `iss`. */
export function startSequences(tp: Tcb, iss: number): void {
  tp.iss = iss;
  tp.sndUna = iss;
  tp.sndNxt = iss;
  tp.sndMax = iss;
  tp.sndBase = seqAdd(iss, 1);
  tp.recover = iss;
  tp.highRxt = iss;
}

/**
 * Settles the SYN options (RFC 7323 §1.3, §2.2, §3.2; RFC 2018 §2; RFC 9293
 * §3.7.1): an option is used only when we offered it and the peer's SYN
 * carries it. Then fixes MSS and SMSS.
 */
function applySynOptions(sh: TcpShared, tp: Tcb): void {
  const o = sh.seg.opts;
  tp.peerMss = (o.present & TOF_MSS) !== 0 ? Math.max(o.mss, MIN_PEER_MSS) : TCP_DEFAULT_MSS;
  if ((tp.flags & TF_REQ_SCALE) !== 0 && (o.present & TOF_SCALE) !== 0) {
    tp.flags |= TF_RCVD_SCALE;
    tp.sndScale = o.wscale;
  } else {
    tp.flags &= ~TF_REQ_SCALE;
    tp.sndScale = 0;
    tp.rcvScale = 0;
  }
  if ((tp.flags & TF_REQ_TSTMP) !== 0 && (o.present & TOF_TS) !== 0) {
    tp.flags |= TF_RCVD_TSTMP;
    tp.tsRecent = o.tsVal;
    tp.tsRecentAge = sh.now();
  } else {
    tp.flags &= ~TF_REQ_TSTMP;
  }
  if ((tp.flags & TF_REQ_SACK) !== 0 && (o.present & TOF_SACKPERM) !== 0) tp.flags |= TF_SACK_PERMIT;
  else tp.flags &= ~TF_REQ_SACK;
  tp.mss = Math.min(tp.peerMss, tp.mssOffer);
  tp.maxseg = tp.mss - ((tp.flags & TF_RCVD_TSTMP) !== 0 ? 12 : 0);
}

/** SYN-SENT (RFC 9293 §3.10.7.3), with RFC 5961 §3's rule for RST. */
function synSentInput(sh: TcpShared, tp: Tcb): void {
  const s = sh.seg;
  const hasAck = (s.flags & TH_ACK) !== 0;
  if (hasAck && (seqLeq(s.ack, tp.iss) || seqGt(s.ack, tp.sndMax))) {
    if ((s.flags & TH_RST) === 0) sh.core.stats.tcpRstBadAck++;
    respondRst(sh);
    return;
  }
  if ((s.flags & TH_RST) !== 0) {
    if (hasAck) {
      tp.error = ECONNREFUSED;
      tcpClose(sh, tp);
    }
    return;
  }
  if ((s.flags & TH_SYN) === 0) return;
  tp.irs = s.seq;
  tp.rcvNxt = seqAdd(s.seq, 1);
  tp.rcvAdv = tp.rcvNxt;
  applySynOptions(sh, tp);
  tp.sndWnd = s.wnd;
  tp.maxSndWnd = s.wnd;
  tp.sndWl1 = s.seq;
  tp.sndWl2 = s.ack;
  if (!hasAck) {
    // Simultaneous open: answer with SYN,ACK on the same ISS (RFC 9293 §3.5 figure 7).
    tp.state = TCPS_SYN_RECEIVED;
    tp.sndNxt = tp.iss;
    tcpOutput(sh, tp);
    return;
  }
  tp.sndUna = s.ack;
  if (seqGt(tp.sndNxt, tp.sndUna) === false) tp.sndNxt = tp.sndUna;
  sh.core.timers.cancel(tp.tRexmt);
  if ((tp.flags & TF_RCVD_TSTMP) !== 0 && s.opts.tsEcr !== 0) rttSample(tp, sh.cfg, (sh.tsNow(tp) - s.opts.tsEcr) | 0);
  else if (tp.rtTime >= 0) rttSample(tp, sh.cfg, sh.now() - tp.rtTime);
  tp.rtTime = -1;
  if (!tcpEstablished(sh, tp)) return;
  // Our SYN advertised an unscaled window (RFC 7323 §2.2); the ACK below advertises the real one.
  tp.rcvAdv = seqAdd(tp.rcvNxt, Math.min(tp.rcv!.space, 65535));
  // Data or FIN riding on a SYN-ACK (only TCP Fast Open peers send them) is not queued: the ACK
  // covers the SYN alone and the peer retransmits the rest.
  tp.flags |= TF_ACKNOW;
  tcpOutput(sh, tp);
}
