/**
 * The state changes several paths share (input, timers, the socket layer):
 * becoming established, entering TIME-WAIT, and leaving the connection tables
 * on CLOSED, with the bookkeeping each implies (listener queues, timers,
 * channel, errors for the application).
 */
import type { Tcb } from './tcb.js';
import { TF_KEEPALIVE, TF_PASSIVE } from './tcb.js';
import { initialWindow } from './tcpCongestion.js';
import { sendReset } from './tcpOutput.js';
import type { TcpShared } from './tcpShared.js';
import { TCPS_CLOSED, TCPS_ESTABLISHED, TCPS_LISTEN, TCPS_SYN_RECEIVED, TCPS_SYN_SENT, TCPS_TIME_WAIT, haveRcvdSyn } from './tcpStates.js';

/** Linux errno numbers used here (negative on the hot path). */
const ETIMEDOUT = 110;
const ENOBUFS = 105;

/**
 * SYN-SENT or SYN-RECEIVED → ESTABLISHED (RFC 9293 §3.10.7.3–4). Returns
 * false when there was no memory for the connection's buffers: it was then
 * reset and closed.
 */
export function tcpEstablished(sh: TcpShared, tp: Tcb): boolean {
  const wasSynRcvd = tp.state === TCPS_SYN_RECEIVED;
  tp.state = TCPS_ESTABLISHED;
  tp.cwnd = initialWindow(tp.maxseg);
  tp.lastHeard = sh.now();
  if ((tp.flags & TF_KEEPALIVE) !== 0) sh.core.timers.armIn(tp.tKeep, tp.keepIdleMs);
  if (wasSynRcvd && tp.listener !== null) {
    tp.listener.synQueueLen--;
    tp.listener.acceptQueue.push(tp);
  }
  if (sh.hooks.established(tp)) return true;
  tcpDrop(sh, tp, -ENOBUFS);
  return false;
}

/** Enters TIME-WAIT for 2 MSL (RFC 9293 §3.10.7.4); only the 2MSL timer stays armed. */
export function tcpTimeWait(sh: TcpShared, tp: Tcb): void {
  tp.state = TCPS_TIME_WAIT;
  const t = sh.core.timers;
  t.cancel(tp.tRexmt);
  t.cancel(tp.tPersist);
  t.cancel(tp.tKeep);
  t.cancel(tp.tDelack);
  t.armIn(tp.t2msl, 2 * sh.cfg.mslMs);
  sh.hooks.detached(tp);
}

/**
 * The connection is gone: timers off, out of the tables, off its listener's
 * queues, its channel dropped, the owner told. Idempotent.
 */
export function tcpClose(sh: TcpShared, tp: Tcb): void {
  const t = sh.core.timers;
  t.cancel(tp.tRexmt);
  t.cancel(tp.tPersist);
  t.cancel(tp.tKeep);
  t.cancel(tp.tDelack);
  t.cancel(tp.t2msl);
  const lt = tp.listener;
  if (lt !== null) {
    if (tp.state === TCPS_SYN_RECEIVED) lt.synQueueLen--;
    else {
      const i = lt.acceptQueue.indexOf(tp);
      if (i >= 0) lt.acceptQueue.splice(i, 1);
    }
    tp.listener = null;
  }
  if (tp.state !== TCPS_CLOSED) {
    if (tp.state === TCPS_SYN_SENT || (tp.state === TCPS_SYN_RECEIVED && (tp.flags & TF_PASSIVE) === 0)) {
      sh.core.stats.tcpAttemptFails++;
    }
    tp.state = TCPS_CLOSED;
    sh.live--;
  }
  sh.table.remove(tp);
  sh.table.unbind(tp);
  sh.hooks.detached(tp);
}

/**
 * Ends a connection with an error for the application (negative errno): a
 * RST goes out first when the peer may hold state (synchronized states).
 * A timeout reports the last soft error (ICMP, ARP) if there was one.
 */
export function tcpDrop(sh: TcpShared, tp: Tcb, errno: number): void {
  if (haveRcvdSyn(tp.state) && tp.state !== TCPS_TIME_WAIT) sendReset(sh, tp);
  tp.error = errno === -ETIMEDOUT && tp.softError !== 0 ? tp.softError : errno;
  tcpClose(sh, tp);
}

/** Closes a listener: every child not yet accepted is reset (RFC 9293 §3.10.4, as BSD does). */
export function tcpCloseListener(sh: TcpShared, lt: Tcb): void {
  if (lt.state !== TCPS_LISTEN) return;
  for (const child of sh.table.all()) {
    if (child.listener === lt) {
      child.listener = null;
      if (child.state === TCPS_SYN_RECEIVED) lt.synQueueLen--;
      tcpDrop(sh, child, -104);
    }
  }
  lt.acceptQueue.length = 0;
  lt.state = TCPS_CLOSED;
  sh.live--;
  sh.table.unbind(lt);
  sh.hooks.detached(lt);
}
