/**
 * Congestion control: slow start and congestion avoidance (RFC 5681 §3.1),
 * fast retransmit and fast recovery with NewReno's partial-ACK handling
 * (RFC 6582 §3.2), SACK-based recovery accounting (RFC 6675 §5, with the
 * "pipe" computed from the scoreboard), and the response to a timeout
 * (RFC 5681 §3.1 eq. 4, loss window 1 SMSS). All sizes in bytes.
 */
import { TF_RECOVERY, TF_SACK_PERMIT, type Tcb } from './tcb.js';
import { seqAdd, seqDiff, seqGeq, seqGt, seqLt, seqMin } from './tcpSeq.js';

/** Duplicate ACKs that trigger fast retransmit (RFC 5681 §3.2 DupThresh). */
export const DUPTHRESH = 3;
/** Upper bound on cwnd, so sums stay exact. */
const CWND_MAX = 0x3fffffff;

/** Initial window (RFC 5681 §3.1 IW rule). */
export function initialWindow(smss: number): number {
  if (smss > 2190) return 2 * smss;
  if (smss > 1095) return 3 * smss;
  return 4 * smss;
}

/** FlightSize: data sent but not cumulatively acknowledged. */
export function flightSize(tp: Tcb): number {
  return (tp.sndMax - tp.sndUna) >>> 0;
}

/** ssthresh after a loss (RFC 5681 §3.1 eq. 4). */
function lossThreshold(tp: Tcb): number {
  return Math.max(Math.floor(flightSize(tp) / 2), 2 * tp.maxseg);
}

/**
 * RFC 6675 pipe: bytes believed in the network. Everything above the highest
 * SACKed byte is in flight; holes below it are lost unless we retransmitted
 * them in this recovery (below HighRxt), in which case the retransmission is.
 */
export function sackPipe(tp: Tcb): number {
  const fack = tp.sack.fack(tp.sndUna);
  const above = (tp.sndMax - fack) >>> 0;
  const rexmitEnd = seqMin(tp.highRxt, fack);
  return above + (seqGt(rexmitEnd, tp.sndUna) ? tp.sack.unsackedBetween(tp.sndUna, rexmitEnd) : 0);
}

/**
 * The duplicate threshold: DupThresh, lowered by Early Retransmit (RFC 5827
 * §3.1) to oseg − 1 when fewer than four segments are outstanding and no new
 * segment can go out (nothing unsent, or the peer's window forbids it).
 */
export function dupThreshold(tp: Tcb): number {
  const oseg = Math.ceil(flightSize(tp) / tp.maxseg);
  if (oseg >= DUPTHRESH + 1) return DUPTHRESH;
  const unsent = tp.snd === null ? 0 : tp.snd.len - seqDiff(tp.sndMax, tp.sndBase);
  const windowShut = seqDiff(seqAdd(tp.sndUna, tp.sndWnd), tp.sndMax) < tp.maxseg;
  return unsent <= 0 || windowShut ? Math.max(oseg - 1, 1) : DUPTHRESH;
}

/**
 * True when recovery should start. Without SACK: the duplicate threshold is
 * reached (RFC 5681 §3.2). With SACK: the scoreboard shows the first hole lost
 * (RFC 6675 IsLost: more than (threshold − 1)·SMSS SACKed above it), or the
 * threshold of duplicates arrived carrying SACK information.
 */
export function lossDetected(tp: Tcb): boolean {
  const thresh = dupThreshold(tp);
  if ((tp.flags & TF_SACK_PERMIT) === 0) return tp.dupAcks >= thresh;
  return tp.sack.n > 0 && (tp.dupAcks >= thresh || tp.sack.sackedBytes() > (thresh - 1) * tp.maxseg);
}

/**
 * Enters fast recovery. Without SACK, RFC 6582 §3.2 step 2 guards it: the ACK
 * must cover more than `recover`, so one window of losses (or the tail of a
 * timeout's go-back-N) reduces cwnd once. With SACK the scoreboard already
 * tells a new loss from an old one (RFC 6675 §5), so no guard applies.
 * Returns true when it did; the caller then retransmits.
 */
export function enterRecovery(tp: Tcb, ack: number): boolean {
  if ((tp.flags & TF_SACK_PERMIT) === 0 && !seqGt(ack, tp.recover)) return false;
  tp.recover = tp.sndMax;
  tp.ssthresh = lossThreshold(tp);
  tp.flags |= TF_RECOVERY;
  tp.highRxt = tp.sndUna;
  tp.rexmtMark = tp.sndMax;
  // With SACK the pipe governs sending; NewReno inflates by the three duplicates.
  tp.cwnd = (tp.flags & TF_SACK_PERMIT) !== 0 ? tp.ssthresh : tp.ssthresh + DUPTHRESH * tp.maxseg;
  tp.caAcked = 0;
  return true;
}

/**
 * Lost-retransmission detection during SACK recovery (the heuristic Linux
 * used before RACK): once DupThresh segments sent after this pass of
 * retransmissions began have been SACKed while holes we retransmitted stay
 * open, those retransmissions were lost too — start a new pass from SND.UNA
 * instead of waiting for the retransmission timer. Returns true when it did.
 */
export function lostRetransmit(tp: Tcb): boolean {
  if ((tp.flags & (TF_RECOVERY | TF_SACK_PERMIT)) !== (TF_RECOVERY | TF_SACK_PERMIT)) return false;
  if (!seqGt(tp.highRxt, tp.sndUna)) return false;
  const fack = tp.sack.fack(tp.sndUna);
  if (!seqGt(fack, seqAdd(tp.rexmtMark, DUPTHRESH * tp.maxseg))) return false;
  if (!tp.sack.hole(tp.sndUna, seqMin(tp.highRxt, fack))) return false;
  tp.highRxt = tp.sndUna;
  tp.rexmtMark = tp.sndMax;
  return true;
}

/** A further duplicate ACK during NewReno recovery inflates cwnd by one SMSS (RFC 6582 §3.2 step 3). */
export function dupAckInRecovery(tp: Tcb): void {
  if ((tp.flags & TF_SACK_PERMIT) === 0) tp.cwnd = Math.min(tp.cwnd + tp.maxseg, CWND_MAX);
}

/**
 * New data acknowledged: `acked` bytes up to `ack` (SND.UNA not yet moved).
 * Returns 'partial' for a partial ACK in recovery (the caller retransmits the
 * next hole), 'full' when recovery ended, or 'normal'.
 */
export function newAck(tp: Tcb, acked: number, ack: number): 'partial' | 'full' | 'normal' {
  if ((tp.flags & TF_RECOVERY) !== 0) {
    if (seqGeq(ack, tp.recover)) {
      tp.flags &= ~TF_RECOVERY;
      const flightAfter = (tp.sndMax - ack) >>> 0;
      tp.cwnd = Math.min(tp.ssthresh, Math.max(flightAfter, tp.maxseg) + tp.maxseg);
      tp.dupAcks = 0;
      return 'full';
    }
    if ((tp.flags & TF_SACK_PERMIT) === 0) {
      // RFC 6582 §3.2 step 5: deflate by the amount acked, add back one SMSS if ≥ SMSS was acked.
      tp.cwnd = Math.max(tp.cwnd - acked + (acked >= tp.maxseg ? tp.maxseg : 0), tp.maxseg);
    }
    if (seqLt(tp.highRxt, ack)) tp.highRxt = ack;
    return 'partial';
  }
  tp.dupAcks = 0;
  tp.limitedTransmit = 0;
  if (tp.cwnd < tp.ssthresh) {
    tp.cwnd += Math.min(acked, tp.maxseg); // slow start (RFC 5681 eq. 2)
  } else {
    // Congestion avoidance by byte counting (RFC 5681 §3.1): one SMSS per cwnd acknowledged.
    tp.caAcked += acked;
    if (tp.caAcked >= tp.cwnd) {
      tp.caAcked -= tp.cwnd;
      tp.cwnd += tp.maxseg;
    }
  }
  if (tp.cwnd > CWND_MAX) tp.cwnd = CWND_MAX;
  return 'normal';
}

/** Retransmission timeout: loss window, halve ssthresh once per episode, leave recovery (RFC 5681 §3.1, RFC 6582 §3.2 step 6). */
export function onTimeout(tp: Tcb): void {
  if (tp.rxtShift <= 1) tp.ssthresh = lossThreshold(tp);
  tp.cwnd = tp.maxseg;
  tp.caAcked = 0;
  tp.dupAcks = 0;
  tp.limitedTransmit = 0;
  tp.flags &= ~TF_RECOVERY;
  tp.recover = tp.sndMax;
  tp.highRxt = tp.sndUna;
  tp.sack.clear();
}
