/**
 * The BSD socket face of a TCP connection or listener. Non-blocking calls
 * (try*) return byte counts or negative errno numbers (-EAGAIN when they would
 * block); blocking calls return promises and throw NetError. Before acting,
 * every call runs the segments waiting on the connection's net channel: the
 * socket's caller is the thread that owns it (OSv's consumer side).
 */
import { toIPv4 } from './address.js';
import { NET_ERRNO, NetError } from './errors.js';
import type { Waker } from './netChannel.js';
import { Socket } from './socket.js';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, SHUT_RD, SHUT_RDWR, SHUT_WR, type SocketOption } from './socketOptions.js';
import type { SocketContext } from './internal/socketContext.js';
import {
  TF_ACCEPTED, TF_GOT_FIN, TF_KEEPALIVE, TF_NODELAY, TF_ORPHAN, TF_SHUTRD, TF_SHUTWR, type Tcb, type TcpOwner,
} from './internal/tcp/tcb.js';
import { TCP_STATE_NAMES, TCPS_CLOSED, TCPS_ESTABLISHED, TCPS_LISTEN, TCPS_SYN_RECEIVED, TCPS_SYN_SENT, type TcpStateName } from './internal/tcp/tcpStates.js';
import {
  tcpAbort, tcpBind, tcpCanSend, tcpConnect, tcpDrained, tcpListen, tcpReadable, tcpReceive, tcpSend, tcpSetKeepAlive,
  tcpSetNoDelay, tcpShutdownRead, tcpShutdownWrite, tcpUserClose,
} from './internal/tcp/tcpUser.js';

const EAGAIN = -NET_ERRNO.EAGAIN;
const EINPROGRESS = -NET_ERRNO.EINPROGRESS;
/** Write readiness needs this much free send buffer (BSD's SO_SNDLOWAT). */
const SNDLOWAT = 2048;
/** Largest socket buffer accepted by SO_SNDBUF / SO_RCVBUF, bytes. */
const MAX_SOCKBUF = 16 * 1024 * 1024;

/** A TCP socket. Create with NetStack.tcpSocket(). */
export class TcpSocket extends Socket implements TcpOwner {
  /** @internal */
  readonly tcb: Tcb;
  private everConnected = false;
  /** While close() lingers: ends the linger (the connection drained or the time passed). */
  private lingerDone: (() => void) | null = null;

  /** @internal */
  constructor(ctx: SocketContext, tcb?: Tcb) {
    super(ctx);
    this.tcb = tcb ?? ctx.tcp.newTcb();
    this.tcb.owner = this;
    if (tcb !== undefined) this.everConnected = true;
  }

  /** RFC 9293 state name, for diagnostics and tests. */
  get state(): TcpStateName {
    return TCP_STATE_NAMES[this.tcb.state]!;
  }

  /** Local address (number; 0 = unbound or wildcard). */
  get localAddress(): number {
    return this.tcb.laddr;
  }

  /** Local port (0 = unbound). */
  get localPort(): number {
    return this.tcb.lport;
  }

  /** Peer address, 0 when not connected. */
  get remoteAddress(): number {
    return this.tcb.faddr;
  }

  /** Peer port, 0 when not connected. */
  get remotePort(): number {
    return this.tcb.fport;
  }

  /** Bytes ready to read now (FIONREAD). */
  get readableBytes(): number {
    this.processChannel();
    return tcpReadable(this.tcb);
  }

  /** Binds to address:port (port 0: ephemeral). Throws NetError EADDRINUSE, EADDRNOTAVAIL, EINVAL, EBADF. */
  bind(address: number | string = 0, port = 0): void {
    this.check('bind');
    this.throwIf(this.enter(() => tcpBind(this.ctx.tcp, this.tcb, toIPv4(address), port)), 'bind');
  }

  /** Starts listening with an accept backlog. Throws NetError EADDRINUSE, EISCONN, EBADF. */
  listen(backlog = 128): void {
    this.check('listen');
    this.throwIf(this.enter(() => tcpListen(this.ctx.tcp, this.tcb, backlog)), 'listen');
  }

  /**
   * Non-blocking connect: sends the SYN. Returns -EINPROGRESS (wait for
   * POLLOUT, then read SO_ERROR), 0 if already connected, or a negative errno.
   */
  startConnect(address: number | string, port: number): number {
    if (this.closed) return -NET_ERRNO.EBADF;
    if (this.tcb.state === TCPS_ESTABLISHED) return -NET_ERRNO.EISCONN;
    const addr = toIPv4(address);
    return this.enter(() => tcpConnect(this.ctx.tcp, this.tcb, addr, port));
  }

  /** Connects, resolving once established. Throws NetError ECONNREFUSED, ETIMEDOUT, ENETUNREACH, EHOSTUNREACH, EADDRINUSE... */
  async connect(address: number | string, port: number): Promise<void> {
    this.check('connect');
    const r = this.startConnect(address, port);
    if (r !== EINPROGRESS && r !== -NET_ERRNO.EALREADY) this.throwIf(r, 'connect');
    while (this.tcb.state === TCPS_SYN_SENT || this.tcb.state === TCPS_SYN_RECEIVED) await this.waitFor(POLLOUT);
    if (this.tcb.state < TCPS_ESTABLISHED) {
      throw NetError.fromErrno(this.tcb.error !== 0 ? this.tcb.error : -NET_ERRNO.ECONNREFUSED, 'connect');
    }
    this.everConnected = true;
  }

  /** Takes a connection off the accept queue: a socket, or -EAGAIN / -EINVAL (not listening). */
  tryAccept(): TcpSocket | number {
    if (this.closed) return -NET_ERRNO.EBADF;
    const lt = this.tcb;
    if (lt.state !== TCPS_LISTEN) return -NET_ERRNO.EINVAL;
    const child = lt.acceptQueue.shift();
    if (child === undefined) return EAGAIN;
    child.listener = null;
    child.flags = (child.flags | TF_ACCEPTED) & ~TF_ORPHAN;
    const s = new TcpSocket(this.ctx, child);
    this.notifyLater(s);
    return s;
  }

  /** Waits for and accepts a connection. Throws NetError EINVAL if not listening, EBADF once closed. */
  async accept(): Promise<TcpSocket> {
    for (;;) {
      const r = this.tryAccept();
      if (typeof r !== 'number') return r;
      if (r !== EAGAIN) throw NetError.fromErrno(r, 'accept');
      await this.waitFor(POLLIN);
    }
  }

  /** Reads up to `len` bytes into `buf[off..]`: the count, 0 at end of stream, -EAGAIN, or a negative errno. */
  tryRead(buf: Uint8Array, off = 0, len = buf.length - off): number {
    if (this.closed) return -NET_ERRNO.EBADF;
    const core = this.ctx.core;
    core.enter();
    try {
      this.processChannel();
      return tcpReceive(this.ctx.tcp, this.tcb, buf, off, len);
    } finally {
      core.leave();
    }
  }

  /** Reads at least one byte (or 0 at end of stream). Throws NetError ECONNRESET, ETIMEDOUT, ENOTCONN, EBADF. */
  async read(buf: Uint8Array, off = 0, len = buf.length - off): Promise<number> {
    for (;;) {
      const n = this.tryRead(buf, off, len);
      if (n >= 0) return n;
      if (n !== EAGAIN) throw NetError.fromErrno(n, 'read');
      await this.waitFor(POLLIN | POLLRDHUP);
    }
  }

  /** Queues up to `len` bytes from `buf[off..]`: the count, -EAGAIN when the send buffer is full, or a negative errno (-EPIPE). */
  tryWrite(buf: Uint8Array, off = 0, len = buf.length - off): number {
    if (this.closed) return -NET_ERRNO.EBADF;
    const core = this.ctx.core;
    core.enter();
    try {
      this.processChannel();
      return tcpSend(this.ctx.tcp, this.tcb, buf, off, len);
    } finally {
      core.leave();
    }
  }

  /** Queues all `len` bytes, waiting for buffer space as needed. Throws NetError EPIPE, ECONNRESET, ETIMEDOUT, EBADF. */
  async write(buf: Uint8Array, off = 0, len = buf.length - off): Promise<number> {
    let done = 0;
    while (done < len) {
      const n = this.tryWrite(buf, off + done, len - done);
      if (n > 0) done += n;
      else if (n === EAGAIN) await this.waitFor(POLLOUT);
      else if (n < 0) throw NetError.fromErrno(n, 'write');
    }
    return done;
  }

  /** shutdown(SHUT_RD / SHUT_WR / SHUT_RDWR). Throws NetError ENOTCONN when not connected, EINVAL for a bad `how`. */
  shutdown(how: number): void {
    this.check('shutdown');
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) throw new NetError('EINVAL', `shutdown: bad direction ${how}`);
    this.enter(() => {
      if (how !== SHUT_WR) tcpShutdownRead(this.tcb);
      if (how !== SHUT_RD) this.throwIf(tcpShutdownWrite(this.ctx.tcp, this.tcb), 'shutdown');
      this.notify();
      return 0;
    });
  }

  /**
   * Closes the socket. The connection finishes in the background (FIN after
   * queued data) unless unread data or SO_LINGER 0 make it an abort (RST).
   * With SO_LINGER > 0 the promise waits until the data is acknowledged or the
   * linger time passes.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ctx.open--;
    const tp = this.tcb;
    const linger = tp.lingerSec;
    this.enter(() => {
      this.processChannel();
      tcpUserClose(this.ctx.tcp, tp);
      return 0;
    });
    this.deliverNotify();
    if (linger > 0 && !tcpDrained(tp)) await this.linger(tp, linger * 1000);
  }

  /** Resets the connection at once (RST) and closes the socket. */
  abort(): void {
    if (this.closed) return;
    this.enter(() => {
      tcpAbort(this.ctx.tcp, this.tcb);
      return 0;
    });
    this.tcb.lingerSec = 0;
    void this.close();
  }

  /** Sets an option; see SocketOption for units. Throws NetError ENOPROTOOPT for an option TCP lacks, EINVAL for a bad value. */
  setOption(option: SocketOption, value: number): void {
    this.check('setsockopt');
    const tp = this.tcb;
    const layer = this.ctx.tcp;
    this.enter(() => {
      switch (option) {
        case 'SO_REUSEADDR': tp.reuseAddr = value !== 0; break;
        case 'SO_KEEPALIVE': tcpSetKeepAlive(layer, tp, value !== 0); break;
        case 'SO_LINGER': tp.lingerSec = value < 0 ? -1 : Math.floor(value); break;
        case 'SO_SNDBUF': tp.sndBufBytes = bufSize(value, tp.snd !== null); break;
        case 'SO_RCVBUF': tp.rcvBufBytes = bufSize(value, tp.rcv !== null); break;
        case 'TCP_NODELAY': tcpSetNoDelay(layer, tp, value !== 0); break;
        case 'TCP_KEEPIDLE': tp.keepIdleMs = positive(value) * 1000; break;
        case 'TCP_KEEPINTVL': tp.keepIntervalMs = positive(value) * 1000; break;
        case 'TCP_KEEPCNT': tp.keepCount = positive(value); break;
        default: throw new NetError('ENOPROTOOPT', `setsockopt: ${option} does not apply to TCP sockets`);
      }
      return 0;
    });
  }

  /** Reads an option (SO_ERROR reads and clears the pending error as a positive errno). Throws NetError ENOPROTOOPT. */
  getOption(option: SocketOption): number {
    const tp = this.tcb;
    switch (option) {
      case 'SO_REUSEADDR': return tp.reuseAddr ? 1 : 0;
      case 'SO_KEEPALIVE': return (tp.flags & TF_KEEPALIVE) !== 0 ? 1 : 0;
      case 'SO_LINGER': return tp.lingerSec;
      case 'SO_SNDBUF': return tp.snd !== null ? tp.sndBufMax : tp.sndBufBytes;
      case 'SO_RCVBUF': return tp.rcv !== null ? tp.rcvBufMax : tp.rcvBufBytes;
      case 'SO_ERROR': {
        const e = -tp.error;
        if (tp.state !== TCPS_CLOSED) tp.error = 0;
        return e;
      }
      case 'TCP_NODELAY': return (tp.flags & TF_NODELAY) !== 0 ? 1 : 0;
      case 'TCP_MAXSEG': return tp.maxseg;
      case 'TCP_KEEPIDLE': return tp.keepIdleMs / 1000;
      case 'TCP_KEEPINTVL': return tp.keepIntervalMs / 1000;
      case 'TCP_KEEPCNT': return tp.keepCount;
      default: throw new NetError('ENOPROTOOPT', `getsockopt: ${option} does not apply to TCP sockets`);
    }
  }

  /** Readiness (poll(2) semantics, Linux bits). Runs the channel first. */
  poll(): number {
    if (this.closed) return 0x020;
    this.processChannel();
    const tp = this.tcb;
    if (tp.state === TCPS_LISTEN) return tp.acceptQueue.length > 0 ? POLLIN : 0;
    let ev = 0;
    if (tp.error !== 0) ev |= POLLERR;
    if (tcpReadable(tp) > 0 || (tp.flags & (TF_GOT_FIN | TF_SHUTRD)) !== 0 || tp.error !== 0) ev |= POLLIN;
    if ((tp.flags & TF_GOT_FIN) !== 0) ev |= POLLRDHUP;
    if (tcpCanSend(tp) && tp.snd !== null && tp.snd.space >= Math.min(SNDLOWAT, tp.snd.cap)) ev |= POLLOUT;
    if (tp.state === TCPS_CLOSED) {
      ev |= POLLHUP;
      if (!this.everConnected && tp.error === 0) ev |= POLLOUT;
    } else if ((tp.flags & TF_SHUTWR) !== 0 && (tp.flags & (TF_GOT_FIN | TF_SHUTRD)) !== 0) {
      ev |= POLLHUP;
    }
    if (tp.state === TCPS_SYN_SENT || tp.state === TCPS_SYN_RECEIVED) ev &= POLLERR;
    return ev;
  }

  /**
   * Sets the waker of the thread that owns this socket: the net channel wakes
   * it after queueing segments, and the thread then calls any socket method
   * (or processChannel) to run them. Null restores the stack's default.
   */
  setWaker(waker: Waker | null): void {
    this.ctx.tcp.setWaker(this.tcb, waker);
  }

  /** Runs TCP input for the segments on this connection's net channel (the owning thread's work). */
  processChannel(): void {
    const tp = this.tcb;
    if (tp.channel === null || tp.channel.size === 0) return;
    const core = this.ctx.core;
    core.enter();
    try {
      this.ctx.tcp.drainChannel(tp);
    } finally {
      core.leave();
    }
  }

  /** @internal Delivers readiness; runs the channel first, since a channel wake arrives this way. */
  override deliverNotify(): void {
    const lingering = this.lingerDone;
    if (!this.closed || lingering !== null) this.processChannel();
    super.deliverNotify();
    if (lingering !== null && tcpDrained(this.tcb)) lingering();
  }

  /** @internal TcpOwner: the connection's readiness may have changed. */
  tcpNotify(): void {
    if (this.tcb.state >= TCPS_ESTABLISHED) this.everConnected = true;
    this.notify();
  }

  private notifyLater(s: Socket): void {
    this.ctx.core.notify(s);
  }

  /**
   * close()'s SO_LINGER wait. The closed socket stays the connection's owner
   * meanwhile (through a stand-in that queues this socket's notification), so
   * segments the net channel delivers — the peer's ACKs — are still run by
   * deliverNotify, as for an open socket; without that they would sit on the
   * ring and the wait could only end by the timer.
   */
  private linger(tp: Tcb, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timers = this.ctx.core.timers;
      const done = (): void => {
        if (this.lingerDone !== done) return;
        this.lingerDone = null;
        timers.cancel(t);
        if (tp.owner === watcher) tp.owner = null;
        resolve();
      };
      const t = timers.timer(done);
      const watcher: TcpOwner = { tcpNotify: () => this.notify() };
      this.lingerDone = done;
      tp.owner = watcher;
      timers.armIn(t, ms);
      // Segments may already wait on the channel (they arrived while close() ran).
      if (tp.channel !== null && tp.channel.size > 0) {
        this.run(() => {
          this.notify();
          return 0;
        });
      }
    });
  }

  private enter(fn: () => number): number {
    return this.run(fn);
  }

  private check(what: string): void {
    if (this.closed) throw new NetError('EBADF', `${what} on a closed socket`);
  }

  private throwIf(r: number, what: string): void {
    if (r < 0) throw NetError.fromErrno(r, what);
  }
}

function bufSize(value: number, fixed: boolean): number {
  if (fixed) throw new NetError('EINVAL', 'SO_SNDBUF/SO_RCVBUF must be set before connect() or listen()');
  if (!Number.isFinite(value) || value <= 0) throw new NetError('EINVAL', `socket buffer size ${value} must be positive`);
  return Math.min(Math.max(value, 4096), MAX_SOCKBUF);
}

function positive(value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new NetError('EINVAL', `option value ${value} must be a positive integer`);
  return value;
}
