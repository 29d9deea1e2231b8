/**
 * The user calls of RFC 9293 §3.10 — OPEN (active and passive), SEND,
 * RECEIVE, CLOSE, ABORT — plus shutdown, as the socket layer needs them.
 * Hot-path calls return byte counts or negative errno numbers.
 */
import { growSendRing } from './bufferGrowth.js';
import type { TcpLayer } from './tcpLayer.js';
import { startSequences } from './tcpInput.js';
import { sendReset, tcpOutput } from './tcpOutput.js';
import {
  TF_GOT_FIN, TF_KEEPALIVE, TF_NODELAY, TF_ORPHAN, TF_SHUTRD, TF_SHUTWR, type Tcb,
} from './tcb.js';
import {
  TCPS_CLOSE_WAIT, TCPS_CLOSED, TCPS_ESTABLISHED, TCPS_FIN_WAIT_1, TCPS_FIN_WAIT_2, TCPS_LAST_ACK, TCPS_LISTEN,
  TCPS_SYN_RECEIVED, TCPS_SYN_SENT, TCPS_TIME_WAIT,
} from './tcpStates.js';
import { tcpClose, tcpCloseListener, tcpDrop } from './tcpTransitions.js';

const EAGAIN = -11;
const EINVAL = -22;
const EPIPE = -32;
const EADDRINUSE = -98;
const EADDRNOTAVAIL = -99;
const ENETUNREACH = -101;
const ENOBUFS = -105;
const EISCONN = -106;
const ENOTCONN = -107;
const EALREADY = -114;
const EINPROGRESS = -115;
const ECONNRESET = -104;

/** Binds `tp` to laddr:lport (0 picks an ephemeral port). Returns 0 or -EADDRINUSE / -EINVAL. */
export function tcpBind(layer: TcpLayer, tp: Tcb, laddr: number, lport: number): number {
  const sh = layer.sh;
  if (tp.lport !== 0 || tp.state !== TCPS_CLOSED) return EINVAL;
  if (laddr !== 0 && !sh.ip.isLocal(laddr)) return EADDRNOTAVAIL;
  let port = lport;
  if (port === 0) {
    port = sh.table.ephemeralPort();
    if (port === 0) return EADDRINUSE;
  } else if (sh.table.conflicts(tp, laddr, port, tp.reuseAddr, false)) {
    return EADDRINUSE;
  }
  tp.laddr = laddr;
  tp.lport = port;
  sh.table.bind(tp);
  return 0;
}

/** Passive OPEN: LISTEN with an accept backlog. Returns 0 or a negative errno. */
export function tcpListen(layer: TcpLayer, tp: Tcb, backlog: number): number {
  const sh = layer.sh;
  if (tp.state === TCPS_LISTEN) {
    tp.backlog = Math.max(backlog, 1);
    return 0;
  }
  if (tp.state !== TCPS_CLOSED) return EISCONN;
  if (tp.lport === 0) {
    const r = tcpBind(layer, tp, 0, 0);
    if (r < 0) return r;
  }
  if (sh.table.conflicts(tp, tp.laddr, tp.lport, tp.reuseAddr, true)) return EADDRINUSE;
  tp.backlog = Math.max(backlog, 1);
  tp.state = TCPS_LISTEN;
  sh.live++;
  return 0;
}

/** Active OPEN: sends the SYN. Returns -EINPROGRESS (the owner is notified when it completes) or an error. */
export function tcpConnect(layer: TcpLayer, tp: Tcb, faddr: number, fport: number): number {
  const sh = layer.sh;
  if (tp.state === TCPS_SYN_SENT) return EALREADY;
  if (tp.state !== TCPS_CLOSED || tp.snd !== null) return EISCONN;
  if (fport === 0 || faddr === 0) return EADDRNOTAVAIL;
  const nif = sh.ip.route(faddr);
  if (nif === null) return ENETUNREACH;
  const laddr = tp.laddr !== 0 ? tp.laddr : sh.ip.sourceFor(faddr);
  if (laddr === 0) return EADDRNOTAVAIL;
  if (tp.lport === 0) {
    const r = tcpBind(layer, tp, 0, 0);
    if (r < 0) return r;
  }
  tp.laddr = laddr;
  if (sh.table.lookup(laddr, tp.lport, faddr, fport) !== null) return EADDRINUSE;
  layer.prepare(tp, nif.mtu);
  if (!layer.allocateBuffers(tp)) return ENOBUFS;
  tp.faddr = faddr;
  tp.fport = fport;
  startSequences(tp, sh.isn.isn(laddr, tp.lport, faddr, fport, sh.now()));
  tp.rcvAdv = 0;
  tp.state = TCPS_SYN_SENT;
  sh.live++;
  sh.table.insert(tp);
  sh.core.stats.tcpActiveOpens++;
  tcpOutput(sh, tp);
  return EINPROGRESS;
}

/** SEND: queues up to `len` bytes from `src[off..]`. Returns the count, or -EAGAIN when the buffer is full, or an error. */
export function tcpSend(layer: TcpLayer, tp: Tcb, src: Uint8Array, off: number, len: number): number {
  if (tp.error !== 0) return tp.error;
  if ((tp.flags & TF_SHUTWR) !== 0) return EPIPE;
  if (tp.state === TCPS_SYN_SENT || tp.state === TCPS_SYN_RECEIVED) return EAGAIN;
  if (tp.state !== TCPS_ESTABLISHED && tp.state !== TCPS_CLOSE_WAIT) return tp.state === TCPS_CLOSED && tp.snd === null ? ENOTCONN : EPIPE;
  if (len === 0) return 0;
  const snd = tp.snd!;
  if (len > snd.space) growSendRing(layer.core.pool, tp, snd.len + len);
  const n = snd.append(src, off, len);
  if (n === 0) return EAGAIN;
  tcpOutput(layer.sh, tp);
  return n;
}

/**
 * RECEIVE: copies up to `len` readable bytes into `dst[off..]`. Returns the
 * count; 0 at end of stream; -EAGAIN when nothing is readable yet; the
 * connection's error once its data is drained.
 */
export function tcpReceive(layer: TcpLayer, tp: Tcb, dst: Uint8Array, off: number, len: number): number {
  const rcv = tp.rcv;
  if (rcv !== null && rcv.readable > 0 && (tp.flags & TF_SHUTRD) === 0) {
    const n = rcv.read(dst, off, len);
    // A window update may be due now that space opened (RFC 9293 §3.8.6.2.2).
    if (tp.state !== TCPS_CLOSED) tcpOutput(layer.sh, tp);
    return n;
  }
  if ((tp.flags & (TF_GOT_FIN | TF_SHUTRD)) !== 0) return 0;
  if (tp.error !== 0) return tp.error;
  if (tp.state === TCPS_CLOSED) return tp.snd === null && tp.rcv === null && (tp.flags & TF_ORPHAN) === 0 ? ENOTCONN : 0;
  return EAGAIN;
}

/** Readable bytes now (FIONREAD). */
export function tcpReadable(tp: Tcb): number {
  return tp.rcv === null || (tp.flags & TF_SHUTRD) !== 0 ? 0 : tp.rcv.readable;
}

/** shutdown(SHUT_WR): FIN after the queued data (RFC 9293 §3.10.4 CLOSE for the sending half). */
export function tcpShutdownWrite(layer: TcpLayer, tp: Tcb): number {
  switch (tp.state) {
    case TCPS_ESTABLISHED:
      tp.state = TCPS_FIN_WAIT_1;
      break;
    case TCPS_CLOSE_WAIT:
      tp.state = TCPS_LAST_ACK;
      break;
    case TCPS_SYN_SENT:
    case TCPS_SYN_RECEIVED:
      tcpClose(layer.sh, tp);
      return 0;
    case TCPS_LISTEN:
    case TCPS_CLOSED:
      return ENOTCONN;
    default:
      return 0; // FIN already queued
  }
  tp.flags |= TF_SHUTWR;
  tcpOutput(layer.sh, tp);
  return 0;
}

/** shutdown(SHUT_RD): further reads return end of file; arriving data is acknowledged and dropped. */
export function tcpShutdownRead(tp: Tcb): void {
  tp.flags |= TF_SHUTRD;
  tp.rcv?.clear();
}

/**
 * close(): the application lets go. Listeners reset their unaccepted children;
 * unread data or SO_LINGER 0 abort with RST (RFC 2525 §2.17); otherwise the
 * FIN follows the queued data and the connection finishes as an orphan.
 */
export function tcpUserClose(layer: TcpLayer, tp: Tcb): void {
  const sh = layer.sh;
  tp.flags |= TF_ORPHAN;
  tp.owner = null;
  switch (tp.state) {
    case TCPS_LISTEN:
      tcpCloseListener(sh, tp);
      break;
    case TCPS_CLOSED:
      sh.table.unbind(tp);
      break;
    case TCPS_SYN_SENT:
      tcpClose(sh, tp);
      break;
    case TCPS_SYN_RECEIVED:
      tcpDrop(sh, tp, ECONNRESET);
      break;
    case TCPS_TIME_WAIT:
      break;
    default:
      if ((tp.rcv !== null && tp.rcv.readable > 0) || tp.lingerSec === 0) {
        tcpAbort(layer, tp);
        break;
      }
      tcpShutdownWrite(layer, tp);
      if (tp.state === TCPS_FIN_WAIT_2) sh.core.timers.armIn(tp.t2msl, sh.cfg.finWait2TimeoutMs);
  }
  if (tp.state === TCPS_CLOSED || tp.state === TCPS_TIME_WAIT) layer.releaseBuffers(tp);
}

/** ABORT (RFC 9293 §3.10.5): RST to the peer, connection gone. */
export function tcpAbort(layer: TcpLayer, tp: Tcb): void {
  if (tp.state === TCPS_LISTEN) {
    tcpCloseListener(layer.sh, tp);
    return;
  }
  if (tp.state !== TCPS_CLOSED && tp.state !== TCPS_SYN_SENT && tp.state !== TCPS_TIME_WAIT) sendReset(layer.sh, tp);
  tcpClose(layer.sh, tp);
}

/** True once everything sent (and our FIN, if any) is acknowledged: what SO_LINGER waits for. */
export function tcpDrained(tp: Tcb): boolean {
  return tp.state === TCPS_CLOSED || tp.state === TCPS_TIME_WAIT || tp.state === TCPS_FIN_WAIT_2 || (tp.sndUna === tp.sndMax && (tp.snd === null || tp.snd.len === 0) && tp.state !== TCPS_FIN_WAIT_1 && tp.state !== TCPS_LAST_ACK);
}

/** TCP_NODELAY: Nagle off (and anything held back goes now) or on. */
export function tcpSetNoDelay(layer: TcpLayer, tp: Tcb, on: boolean): void {
  if (on) {
    tp.flags |= TF_NODELAY;
    if (tp.state >= TCPS_ESTABLISHED) tcpOutput(layer.sh, tp);
  } else {
    tp.flags &= ~TF_NODELAY;
  }
}

/** SO_KEEPALIVE on or off; starts the idle timer on an open connection. */
export function tcpSetKeepAlive(layer: TcpLayer, tp: Tcb, on: boolean): void {
  if (!on) {
    tp.flags &= ~TF_KEEPALIVE;
    layer.core.timers.cancel(tp.tKeep);
    return;
  }
  tp.flags |= TF_KEEPALIVE;
  tp.lastHeard = layer.sh.now();
  if (tp.state >= TCPS_ESTABLISHED && tp.state !== TCPS_TIME_WAIT) layer.core.timers.armIn(tp.tKeep, tp.keepIdleMs);
}

/** States the application sees as connected for writing. */
export function tcpCanSend(tp: Tcb): boolean {
  return (tp.state === TCPS_ESTABLISHED || tp.state === TCPS_CLOSE_WAIT) && (tp.flags & TF_SHUTWR) === 0 && tp.error === 0;
}

