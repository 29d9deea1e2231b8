/**
 * TCP's timers: retransmission (RFC 6298 §5, with SYN and data retry limits
 * from RFC 1122 §4.2.3.5), persist (zero-window probes, RFC 9293 §3.8.6.1),
 * keepalive (RFC 1122 §4.2.3.6, rearmed lazily from the last arrival), delayed
 * ACK, and 2MSL (TIME-WAIT, and the orphaned FIN-WAIT-2 limit). A timer on a
 * channelled flow first runs the segments waiting on its channel, so it acts
 * on current state.
 */
import { onTimeout } from './tcpCongestion.js';
import { sendKeepalive, setPersist, tcpOutput } from './tcpOutput.js';
import { currentRto } from './tcpRtt.js';
import { TF_ACKNOW, TF_FORCE, TF_KEEPALIVE, TF_PASSIVE, type Tcb, type TcbTimerHandlers } from './tcb.js';
import type { TcpShared } from './tcpShared.js';
import { TCPS_CLOSED, TCPS_CLOSE_WAIT, TCPS_ESTABLISHED, TCPS_FIN_WAIT_2, TCPS_SYN_RECEIVED, TCPS_SYN_SENT, TCPS_TIME_WAIT } from './tcpStates.js';
import { tcpClose, tcpDrop } from './tcpTransitions.js';

const ETIMEDOUT = -110;

/** The timer handlers for one stack's connections. */
export function tcpTimerHandlers(sh: TcpShared): TcbTimerHandlers {
  const sync = (tp: Tcb): boolean => {
    if (tp.channel !== null && tp.channel.size > 0) sh.hooks.drainChannel(tp);
    return tp.state !== TCPS_CLOSED;
  };
  return {
    rexmt: (tp) => {
      if (sync(tp)) rexmtTimeout(sh, tp);
    },
    persist: (tp) => {
      if (sync(tp)) persistTimeout(sh, tp);
    },
    keep: (tp) => {
      if (sync(tp)) keepTimeout(sh, tp);
    },
    delack: (tp) => {
      if (!sync(tp)) return;
      tp.flags |= TF_ACKNOW;
      tcpOutput(sh, tp);
    },
    twoMsl: (tp) => {
      if (sync(tp) && (tp.state === TCPS_TIME_WAIT || tp.state === TCPS_FIN_WAIT_2)) tcpClose(sh, tp);
    },
  };
}

/** RFC 6298 §5.4–5.6: back off, collapse the window, go back to SND.UNA. */
function rexmtTimeout(sh: TcpShared, tp: Tcb): void {
  const stats = sh.core.stats;
  stats.tcpTimeouts++;
  const synPhase = tp.state === TCPS_SYN_SENT || tp.state === TCPS_SYN_RECEIVED;
  const limit = synPhase ? sh.cfg.synRetries : sh.cfg.retries;
  if (tp.rxtShift >= limit) {
    if (tp.state === TCPS_SYN_RECEIVED && (tp.flags & TF_PASSIVE) !== 0) tcpClose(sh, tp);
    else tcpDrop(sh, tp, ETIMEDOUT);
    return;
  }
  tp.rxtShift++;
  onTimeout(tp);
  tp.rtTime = -1; // Karn: nothing in flight may be timed now
  tp.sndNxt = tp.sndUna;
  tp.flags |= TF_ACKNOW;
  sh.core.timers.armIn(tp.tRexmt, currentRto(tp, sh.cfg));
  tcpOutput(sh, tp);
}

/** Zero-window probe: one byte at SND.UNA forced into the closed window, then back off. */
function persistTimeout(sh: TcpShared, tp: Tcb): void {
  if (tp.persistShift < 16) tp.persistShift++;
  setPersist(sh, tp); // armed before output, so the probe does not start the retransmission timer
  if (tp.sndWnd === 0) tp.sndNxt = tp.sndUna;
  tp.flags |= TF_FORCE;
  tcpOutput(sh, tp);
}

/** Keepalive (RFC 1122 §4.2.3.6): probe with SEG.SEQ = SND.NXT − 1 after keepIdle of silence. */
function keepTimeout(sh: TcpShared, tp: Tcb): void {
  if ((tp.flags & TF_KEEPALIVE) === 0 || tp.state < TCPS_ESTABLISHED || tp.state > TCPS_CLOSE_WAIT) return;
  const timers = sh.core.timers;
  const idle = sh.now() - tp.lastHeard;
  if (idle < tp.keepIdleMs) {
    tp.keepProbes = 0;
    timers.armIn(tp.tKeep, tp.keepIdleMs - idle);
    return;
  }
  if (tp.keepProbes >= tp.keepCount) {
    tcpDrop(sh, tp, ETIMEDOUT);
    return;
  }
  tp.keepProbes++;
  sendKeepalive(sh, tp);
  timers.armIn(tp.tKeep, tp.keepIntervalMs);
}
