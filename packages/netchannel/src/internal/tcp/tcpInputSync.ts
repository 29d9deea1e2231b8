/**
 * TCP input for the synchronized states, SYN-RECEIVED through TIME-WAIT
 * (RFC 9293 §3.10.7.4, "Otherwise"), in the RFC's order: PAWS (RFC 7323
 * §5.3), RST and SYN with RFC 5961's protections, sequence acceptability
 * with trimming to the window, the ACK field (RFC 5961 §5.2 range; RTT,
 * congestion control, SACK, window update), segment text (delayed ACKs,
 * out-of-order data), and FIN. Runs on the connection's thread.
 */
import { TH_ACK, TH_FIN, TH_RST, TH_SYN, TOF_SACK, TOF_TS } from '../wire/tcp.js';
import { growReceiveRing } from './bufferGrowth.js';
import { DUPTHRESH, dupAckInRecovery, enterRecovery, lossDetected, lostRetransmit, newAck } from './tcpCongestion.js';
import { respondRst, retransmitAt, setPersist, tcpOutput } from './tcpOutput.js';
import { currentRto, rttSample } from './tcpRtt.js';
import {
  TF_ACKNOW, TF_DELACK, TF_FIN_ACKED, TF_FIN_PENDING, TF_GOT_FIN, TF_KEEPALIVE, TF_ORPHAN, TF_PASSIVE, TF_RCVD_SCALE, TF_RCVD_TSTMP, TF_RECOVERY,
  TF_SACK_PERMIT, TF_SHUTRD, TF_SHUTWR, type Tcb,
} from './tcb.js';
import { seqAdd, seqDiff, seqGt, seqLeq, seqLt } from './tcpSeq.js';
import type { TcpShared } from './tcpShared.js';
import {
  TCPS_CLOSE_WAIT, TCPS_CLOSING, TCPS_ESTABLISHED, TCPS_FIN_WAIT_1, TCPS_FIN_WAIT_2, TCPS_LAST_ACK, TCPS_SYN_RECEIVED,
  TCPS_TIME_WAIT, canReceiveData, haveRcvdFin,
} from './tcpStates.js';
import { tcpClose, tcpEstablished, tcpTimeWait } from './tcpTransitions.js';

/** RFC 7323 §5.5: a TS.Recent idle this long (24 days, ms) is no longer trusted by PAWS. */
const PAWS_IDLE_MS = 24 * 24 * 60 * 60 * 1000;
const ECONNRESET = -104;
const ECONNREFUSED = -111;

/** Processes sh.seg for `tp` in a synchronized state. */
export function syncInput(sh: TcpShared, tp: Tcb): void {
  const seg = sh.seg;
  const flags = seg.flags;
  if ((tp.flags & TF_KEEPALIVE) !== 0) tp.lastHeard = sh.now(); // only keepalive reads it
  if (!pawsOk(sh, tp)) return;
  if ((flags & TH_RST) !== 0) {
    rstInput(sh, tp);
    return;
  }
  if ((flags & TH_SYN) !== 0) {
    if (tp.state !== TCPS_SYN_RECEIVED || seg.seq !== tp.irs) {
      challengeAck(sh, tp); // RFC 5961 §4.2
      return;
    }
    if ((flags & TH_ACK) === 0) {
      tp.sndNxt = tp.iss; // the peer lost our SYN-ACK: send it again
      tcpOutput(sh, tp);
      return;
    }
    // Simultaneous open (RFC 9293 §3.5 figure 8): the peer's SYN,ACK repeats the SYN we hold;
    // drop the duplicate SYN (as 4.4BSD trims it) and let its ACK complete the handshake.
    seg.seq = seqAdd(seg.seq, 1);
    seg.flags &= ~TH_SYN;
  }
  if (!trimToWindow(sh, tp)) {
    tp.flags |= TF_ACKNOW;
    tcpOutput(sh, tp);
    return;
  }
  updateTsRecent(sh, tp);
  if ((flags & TH_ACK) === 0) return;
  if (tp.state === TCPS_SYN_RECEIVED && !synRcvdAck(sh, tp)) return;
  if (tp.state === TCPS_TIME_WAIT) {
    if ((seg.flags & TH_FIN) !== 0) {
      sh.core.timers.armIn(tp.t2msl, 2 * sh.cfg.mslMs);
      tp.flags |= TF_ACKNOW;
      tcpOutput(sh, tp);
    }
    return;
  }
  if (!ackInput(sh, tp)) return;
  if (seg.dataLen > 0) {
    if (canReceiveData(tp.state)) textInput(sh, tp);
  }
  if ((seg.flags & TH_FIN) !== 0) finInput(sh, tp);
  tcpOutput(sh, tp);
}

/** PAWS (RFC 7323 §5.3 R1): false when the segment is an old duplicate (an ACK is sent). */
function pawsOk(sh: TcpShared, tp: Tcb): boolean {
  const o = sh.seg.opts;
  if ((tp.flags & TF_RCVD_TSTMP) === 0 || (o.present & TOF_TS) === 0 || (sh.seg.flags & TH_RST) !== 0) return true;
  if (((o.tsVal - tp.tsRecent) | 0) >= 0) return true;
  if (sh.now() - tp.tsRecentAge > PAWS_IDLE_MS) {
    tp.tsRecent = 0; // stale: accept and relearn
    return true;
  }
  sh.core.stats.tcpPawsDrops++;
  tp.flags |= TF_ACKNOW;
  tcpOutput(sh, tp);
  return false;
}

/** RFC 7323 §4.3 (as 4.4BSD applies it): remember TSval of a segment covering Last.ACK.sent. */
function updateTsRecent(sh: TcpShared, tp: Tcb): void {
  const seg = sh.seg;
  if ((seg.opts.present & TOF_TS) === 0 || (tp.flags & TF_RCVD_TSTMP) === 0) return;
  const end = seqAdd(seg.seq, seg.dataLen + ((seg.flags & (TH_SYN | TH_FIN)) !== 0 ? 1 : 0));
  if (seqLeq(seg.seq, tp.lastAckSent) && seqLeq(tp.lastAckSent, end)) {
    tp.tsRecent = seg.opts.tsVal;
    tp.tsRecentAge = sh.now();
  }
}

/** RFC 5961 §3.2: a RST resets only at exactly RCV.NXT; in the window it earns a challenge ACK. */
function rstInput(sh: TcpShared, tp: Tcb): void {
  const seq = sh.seg.seq;
  if (seq === tp.rcvNxt) {
    resetByPeer(sh, tp);
    return;
  }
  const wnd = Math.max(seqDiff(tp.rcvAdv, tp.rcvNxt), 1);
  if (seqGt(seq, tp.rcvNxt) && seqLt(seq, seqAdd(tp.rcvNxt, wnd))) challengeAck(sh, tp);
}

/** An acceptable RST (RFC 9293 §3.10.7.4 "second, check the RST bit"). */
function resetByPeer(sh: TcpShared, tp: Tcb): void {
  switch (tp.state) {
    case TCPS_SYN_RECEIVED:
      // A passive child just goes away (the listener stays); an active one was refused.
      if ((tp.flags & TF_PASSIVE) === 0) tp.error = ECONNREFUSED;
      tcpClose(sh, tp);
      return;
    case TCPS_ESTABLISHED:
    case TCPS_CLOSE_WAIT:
      sh.core.stats.tcpEstabResets++;
      tp.error = ECONNRESET;
      tcpClose(sh, tp);
      return;
    case TCPS_FIN_WAIT_1:
    case TCPS_FIN_WAIT_2:
      tp.error = ECONNRESET;
      tcpClose(sh, tp);
      return;
    default:
      tcpClose(sh, tp); // CLOSING, LAST-ACK, TIME-WAIT
  }
}

/** RFC 5961 §7: an ACK that proves we are in sync, rate-limited stack-wide. */
function challengeAck(sh: TcpShared, tp: Tcb): void {
  if (!sh.challengeAllowed()) return;
  tp.flags |= TF_ACKNOW;
  tcpOutput(sh, tp);
}

/**
 * RFC 9293 §3.10.7.4 "first, check sequence number": trims the segment to
 * the receive window. False when nothing of it is acceptable (the caller ACKs).
 * A zero-window probe at RCV.NXT stays acceptable with its data dropped, so
 * its ACK field is still processed.
 */
function trimToWindow(sh: TcpShared, tp: Tcb): boolean {
  const seg = sh.seg;
  const fin = (seg.flags & TH_FIN) !== 0;
  const wnd = Math.max(seqDiff(tp.rcvAdv, tp.rcvNxt), 0);
  const front = seqDiff(tp.rcvNxt, seg.seq);
  if (front > 0) {
    if (front > seg.dataLen || (front === seg.dataLen && !fin)) return false; // wholly old
    seg.dataOff += front;
    seg.dataLen -= front;
    seg.seq = tp.rcvNxt;
  }
  const over = seqDiff(seqAdd(seg.seq, seg.dataLen), seqAdd(tp.rcvNxt, wnd));
  if (over > 0) {
    if (over < seg.dataLen) {
      seg.dataLen -= over;
      seg.flags &= ~TH_FIN;
    } else if (wnd === 0 && seg.seq === tp.rcvNxt) {
      seg.dataLen = 0;
      seg.flags &= ~TH_FIN;
      tp.flags |= TF_ACKNOW;
    } else {
      return false;
    }
  } else if (over === 0 && seg.dataLen === 0 && wnd === 0 && seg.seq !== tp.rcvNxt) {
    return false;
  }
  return true;
}

/** SYN-RECEIVED: an ACK of our SYN completes the handshake; any other ACK earns a RST. */
function synRcvdAck(sh: TcpShared, tp: Tcb): boolean {
  const seg = sh.seg;
  if (!(seqGt(seg.ack, tp.sndUna) && seqLeq(seg.ack, tp.sndMax))) {
    if ((seg.flags & TH_RST) === 0) sh.core.stats.tcpRstBadAck++;
    respondRst(sh);
    return false;
  }
  if (!tcpEstablished(sh, tp)) return false;
  tp.sndWnd = seg.wnd << tp.sndScale;
  tp.maxSndWnd = tp.sndWnd;
  tp.sndWl1 = seg.seq;
  tp.sndWl2 = seg.ack;
  return true;
}

/** The ACK field (RFC 9293 §3.10.7.4 "fifth"). Returns false when processing stops here. */
function ackInput(sh: TcpShared, tp: Tcb): boolean {
  const seg = sh.seg;
  const ack = seg.ack;
  if (seqGt(ack, tp.sndMax) || seqLt(ack, seqAdd(tp.sndUna, -tp.maxSndWnd))) {
    // Acknowledges data never sent, or is older than any window (RFC 5961 §5.2): ACK and drop.
    tp.flags |= TF_ACKNOW;
    tcpOutput(sh, tp);
    return false;
  }
  const wnd = seg.wnd << ((tp.flags & TF_RCVD_SCALE) !== 0 ? tp.sndScale : 0);
  if (seqLeq(ack, tp.sndUna)) {
    const newSacked = sackUpdate(sh, tp);
    const plainDup = seg.dataLen === 0 && (seg.flags & (TH_SYN | TH_FIN)) === 0 && wnd === tp.sndWnd;
    // A data-bearing ACK is no duplicate (RFC 5681 §2) unless it brings SACK news; it does not reset
    // the count either, so loss is still detected while data flows both ways.
    // Not while the window is shut: then the persist timer owns the outstanding byte.
    if (tp.sndMax !== tp.sndUna && ack === tp.sndUna && wnd > 0 && (plainDup || newSacked > 0)) dupAck(sh, tp, ack);
  } else {
    if (!newData(sh, tp, ack)) return false;
    sackUpdate(sh, tp);
  }
  windowUpdate(sh, tp, wnd);
  return true;
}

function sackUpdate(sh: TcpShared, tp: Tcb): number {
  const o = sh.seg.opts;
  if ((tp.flags & TF_SACK_PERMIT) === 0 || (o.present & TOF_SACK) === 0) return 0;
  return tp.sack.update(tp.sndUna, tp.sndMax, o.sack, o.nsack);
}

/** A duplicate ACK (RFC 5681 §2, or new SACK information, RFC 6675 §2): fast retransmit and recovery. */
function dupAck(sh: TcpShared, tp: Tcb, ack: number): void {
  tp.dupAcks++;
  if ((tp.flags & TF_RECOVERY) !== 0) {
    dupAckInRecovery(tp);
    if (lostRetransmit(tp)) sh.core.stats.tcpFastRetrans++;
    return; // syncInput's output sends what the inflated window or the pipe allows
  }
  if (!lossDetected(tp) || !enterRecovery(tp, ack)) {
    // Limited transmit (RFC 3042): the first two duplicates may each release one new segment.
    if (tp.dupAcks < DUPTHRESH) tp.limitedTransmit = Math.min(tp.dupAcks, 2);
    return;
  }
  tp.limitedTransmit = 0;
  const stats = sh.core.stats;
  stats.tcpFastRetrans++;
  stats.tcpRecoveries++;
  tp.rtTime = -1;
  if ((tp.flags & TF_SACK_PERMIT) === 0) {
    retransmitAt(sh, tp, tp.sndUna, tp.sndMax);
  }
  sh.core.timers.armIn(tp.tRexmt, currentRto(tp, sh.cfg));
}

/** An ACK of new data: RTT, congestion control, send buffer, timers, and FIN-acknowledged transitions. */
function newData(sh: TcpShared, tp: Tcb, ack: number): boolean {
  const seg = sh.seg;
  const o = seg.opts;
  const acked = seqDiff(ack, tp.sndUna);
  if ((tp.flags & TF_RCVD_TSTMP) !== 0 && (o.present & TOF_TS) !== 0 && o.tsEcr !== 0) {
    const rtt = (sh.tsNow(tp) - o.tsEcr) | 0;
    if (rtt >= 0 && rtt < sh.cfg.maxRtoMs * 4) rttSample(tp, sh.cfg, rtt);
  } else if (tp.rtTime >= 0 && seqGt(ack, tp.rtSeq)) {
    rttSample(tp, sh.cfg, sh.now() - tp.rtTime);
    tp.rtTime = -1;
  }
  // The ACK of our SYN (SYN-RECEIVED → ESTABLISHED) acknowledges a sequence number, not data: it does
  // not grow cwnd (RFC 5681 §3.1 counts acknowledged data; cwnd was just set to the initial window).
  // Counting it made cwnd IW + 1 and put a 1-byte segment after the first window.
  const synAcked = tp.sndUna === tp.iss ? 1 : 0;
  const phase = newAck(tp, acked - synAcked, ack);
  tp.sack.advance(ack);
  const snd = tp.snd!;
  const dataEnd = seqAdd(tp.sndBase, snd.len);
  const dataAcked = Math.min(Math.max(seqDiff(ack, tp.sndBase), 0), snd.len);
  if (dataAcked > 0) {
    snd.consume(dataAcked);
    tp.sndBase = seqAdd(tp.sndBase, dataAcked);
  }
  if ((tp.flags & TF_SHUTWR) !== 0 && seqGt(ack, dataEnd)) tp.flags |= TF_FIN_ACKED;
  tp.sndUna = ack;
  if (seqLt(tp.sndNxt, ack)) tp.sndNxt = ack;
  const timers = sh.core.timers;
  if (ack === tp.sndMax) timers.cancel(tp.tRexmt);
  else if (!tp.tPersist.armed) timers.armIn(tp.tRexmt, currentRto(tp, sh.cfg));
  if (phase === 'partial' && (tp.flags & TF_SACK_PERMIT) === 0) retransmitAt(sh, tp, ack, tp.sndMax);
  tp.owner?.tcpNotify();
  return finAcked(sh, tp);
}

/** Transitions when our FIN is acknowledged. Returns false if the connection closed. */
function finAcked(sh: TcpShared, tp: Tcb): boolean {
  if ((tp.flags & TF_FIN_ACKED) === 0) return true;
  switch (tp.state) {
    case TCPS_FIN_WAIT_1:
      tp.state = TCPS_FIN_WAIT_2;
      // An orphan must not wait forever for the peer's FIN (Linux tcp_fin_timeout).
      if ((tp.flags & TF_ORPHAN) !== 0) sh.core.timers.armIn(tp.t2msl, sh.cfg.finWait2TimeoutMs);
      tp.owner?.tcpNotify();
      return true;
    case TCPS_CLOSING:
      tcpTimeWait(sh, tp);
      return false;
    case TCPS_LAST_ACK:
      tcpClose(sh, tp);
      return false;
    default:
      return true;
  }
}

/** Send-window update (RFC 9293 §3.10.7.4: SND.WL1/SND.WL2 guard against old segments). */
function windowUpdate(sh: TcpShared, tp: Tcb, wnd: number): void {
  const seg = sh.seg;
  if (!(seqLt(tp.sndWl1, seg.seq) || (tp.sndWl1 === seg.seq && seqLeq(tp.sndWl2, seg.ack)))) return;
  tp.sndWnd = wnd;
  tp.sndWl1 = seg.seq;
  tp.sndWl2 = seg.ack;
  if (wnd > tp.maxSndWnd) tp.maxSndWnd = wnd;
  if (wnd > 0 && tp.tPersist.armed) {
    // The window opened: stop probing and resend from SND.UNA (the probe byte may have been dropped).
    sh.core.timers.cancel(tp.tPersist);
    tp.persistShift = 0;
    tp.sndNxt = tp.sndUna;
  } else if (wnd === 0 && tp.sndMax === tp.sndUna && tp.snd !== null && tp.snd.len > 0 && !tp.tRexmt.armed) {
    setPersist(sh, tp);
  }
}

/** Segment text (RFC 9293 §3.10.7.4 "seventh"): in order, out of order, delayed ACK policy. */
function textInput(sh: TcpShared, tp: Tcb): void {
  const seg = sh.seg;
  const rcv = tp.rcv!;
  const rel = seqDiff(seg.seq, tp.rcvNxt);
  if ((tp.flags & TF_SHUTRD) !== 0) {
    // Receiving was shut down: acknowledge in-order data and discard it.
    if (rel === 0) tp.rcvNxt = seqAdd(tp.rcvNxt, seg.dataLen);
    tp.flags |= TF_ACKNOW;
    return;
  }
  // Data piling up past half the ring: the application reads in bursts or the path is long — open a bigger window.
  if (rcv.readable + rel + seg.dataLen > rcv.cap / 2) growReceiveRing(sh.core.pool, tp);
  const len = Math.min(seg.dataLen, rcv.space - rel);
  if (len <= 0) {
    tp.flags |= TF_ACKNOW;
    return;
  }
  if (len < seg.dataLen) seg.flags &= ~TH_FIN;
  rcv.place(rel, sh.core.pool.bytes, seg.dataOff, len);
  if (rel === 0) {
    const hadOoo = rcv.nOoo > 0;
    tp.rcvNxt = seqAdd(tp.rcvNxt, rcv.advance(len, tp.rcvNxt));
    if (hadOoo) tp.flags |= TF_ACKNOW; // a hole filled: ACK at once (RFC 5681 §4.2)
    else delayAck(sh, tp);
    if ((tp.flags & TF_FIN_PENDING) !== 0 && tp.rcvNxt === tp.rcvFinSeq) acceptFin(sh, tp);
    tp.owner?.tcpNotify();
  } else {
    rcv.addOoo(seg.seq, seqAdd(seg.seq, len), tp.rcvNxt);
    tp.flags |= TF_ACKNOW; // out of order: duplicate ACK at once, with SACK (RFC 5681 §4.2)
  }
}

/** Delayed ACK (RFC 9293 §3.8.6.3; RFC 5681 §4.2): at least every second segment, within the timeout. */
function delayAck(sh: TcpShared, tp: Tcb): void {
  if ((tp.flags & TF_DELACK) !== 0) {
    tp.flags |= TF_ACKNOW;
    return;
  }
  tp.flags |= TF_DELACK;
  sh.core.timers.armIn(tp.tDelack, sh.cfg.delayedAckMs);
}

/** The FIN bit (RFC 9293 §3.10.7.4 "eighth"). */
function finInput(sh: TcpShared, tp: Tcb): void {
  const seg = sh.seg;
  if (haveRcvdFin(tp.state)) {
    tp.flags |= TF_ACKNOW; // a retransmitted FIN
    return;
  }
  const finSeq = seqAdd(seg.seq, seg.dataLen);
  if (finSeq === tp.rcvNxt) {
    acceptFin(sh, tp);
  } else if (seqGt(finSeq, tp.rcvNxt)) {
    tp.flags |= TF_FIN_PENDING | TF_ACKNOW;
    tp.rcvFinSeq = finSeq;
  }
}

/** The peer's FIN is in sequence: consume it and move the state machine. */
function acceptFin(sh: TcpShared, tp: Tcb): void {
  tp.rcvNxt = seqAdd(tp.rcvNxt, 1);
  tp.flags = (tp.flags & ~TF_FIN_PENDING) | TF_ACKNOW | TF_GOT_FIN;
  switch (tp.state) {
    case TCPS_SYN_RECEIVED:
    case TCPS_ESTABLISHED:
      tp.state = TCPS_CLOSE_WAIT;
      break;
    case TCPS_FIN_WAIT_1:
      if ((tp.flags & TF_FIN_ACKED) !== 0) tcpTimeWait(sh, tp);
      else tp.state = TCPS_CLOSING;
      break;
    case TCPS_FIN_WAIT_2:
      tcpTimeWait(sh, tp);
      break;
    default:
      break;
  }
  tp.owner?.tcpNotify();
}
