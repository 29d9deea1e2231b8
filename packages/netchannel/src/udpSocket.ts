/**
 * The BSD socket face of UDP. Received datagrams wait in their mbufs
 * (zero-copy from the link to the socket) until read; the queue is bounded by
 * SO_RCVBUF counted in whole mbufs, as Linux counts truesize. Non-blocking
 * calls return numbers; recvFrom blocks through a promise.
 */
import { toIPv4 } from './address.js';
import { NET_ERRNO, NetError } from './errors.js';
import { MBUF_SIZE } from './mbufPool.js';
import { Socket } from './socket.js';
import { POLLERR, POLLIN, POLLOUT, type SockAddr, type SocketOption } from './socketOptions.js';
import type { SocketContext } from './internal/socketContext.js';
import type { Netif } from './internal/netif.js';
import type { UdpEndpoint } from './internal/udpLayer.js';
import { copyBytes } from './internal/wire/bytes.js';

const EAGAIN = -NET_ERRNO.EAGAIN;
/** Datagrams a socket may hold regardless of bytes. */
const MAX_QUEUED = 1024;
/** Default SO_RCVBUF, bytes (Linux's rmem_default). */
const DEFAULT_RCVBUF = 212_992;

/** A datagram received by recvFrom. */
export interface Datagram {
  /** Bytes copied into the buffer (the datagram is truncated to the buffer, as recvfrom does). */
  bytes: number;
  /** Sender address (number). */
  address: number;
  /** Sender port. */
  port: number;
}

/** A UDP socket. Create with NetStack.udpSocket(). */
export class UdpSocket extends Socket implements UdpEndpoint {
  /** @internal UdpEndpoint fields, owned by the UDP layer. */
  laddr = 0;
  /** @internal */
  lport = 0;
  /** @internal */
  faddr = 0;
  /** @internal */
  fport = 0;
  /** @internal */
  reuseAddr = false;
  private broadcast = false;
  private rcvbuf = DEFAULT_RCVBUF;
  private sndbuf = DEFAULT_RCVBUF;
  private pendingError = 0;
  private queuedBytes = 0;
  private readonly qM = new Int32Array(MAX_QUEUED);
  private readonly qLen = new Int32Array(MAX_QUEUED);
  private readonly qSrc = new Uint32Array(MAX_QUEUED);
  private readonly qPort = new Uint16Array(MAX_QUEUED);
  private qHead = 0;
  private qCount = 0;
  /** @internal Interface forced for sends (DHCP before configuration). */
  via: Netif | null = null;

  /** @internal */
  constructor(ctx: SocketContext) {
    super(ctx);
  }

  /** Local port (0 = unbound). */
  get localPort(): number {
    return this.lport;
  }

  /** Local address (0 = wildcard). */
  get localAddress(): number {
    return this.laddr;
  }

  /** Datagrams waiting. */
  get queued(): number {
    return this.qCount;
  }

  /** Binds to address:port (port 0: ephemeral). Throws NetError EADDRINUSE, EINVAL, EBADF. */
  bind(address: number | string = 0, port = 0): void {
    this.check('bind');
    if (this.lport !== 0) throw new NetError('EINVAL', 'bind: socket already bound');
    const a = toIPv4(address);
    if (a !== 0 && a !== 0xffffffff && !this.ctx.ip.isLocal(a)) throw new NetError('EADDRNOTAVAIL', 'bind: address is not local');
    const r = this.ctx.udp.bind(this, a === 0xffffffff ? 0 : a, port);
    if (r < 0) throw NetError.fromErrno(r, 'bind');
  }

  /** Sets the default peer and filters received datagrams to it (binds an ephemeral port if unbound). */
  connect(address: number | string, port: number): void {
    this.check('connect');
    const a = toIPv4(address);
    if (this.lport === 0) this.bind(0, 0);
    this.faddr = a;
    this.fport = port;
  }

  /**
   * Sends `buf[off, off+len)` to address:port (or the connected peer when
   * address is omitted). Returns the byte count or a negative errno
   * (-EMSGSIZE, -ENETUNREACH, -EACCES for broadcast without SO_BROADCAST, -EDESTADDRREQ).
   */
  sendTo(buf: Uint8Array, address?: number | string, port?: number, off = 0, len = buf.length - off): number {
    if (this.closed) return -NET_ERRNO.EBADF;
    const dst = address === undefined ? this.faddr : toIPv4(address);
    const dport = port ?? this.fport;
    if (dst === 0 || dport === 0) return -NET_ERRNO.EDESTADDRREQ;
    if (dst === 0xffffffff && !this.broadcast) return -NET_ERRNO.EACCES;
    if (len > this.sndbuf) return -NET_ERRNO.EMSGSIZE;
    const core = this.ctx.core;
    core.enter();
    try {
      if (this.lport === 0) {
        const r = this.ctx.udp.bind(this, 0, 0);
        if (r < 0) return r;
      }
      return this.ctx.udp.output(this.laddr, this.lport, dst, dport, buf, off, len, this.via);
    } finally {
      core.leave();
    }
  }

  /** Sends to the connected peer. Same results as sendTo. */
  send(buf: Uint8Array, off = 0, len = buf.length - off): number {
    return this.sendTo(buf, undefined, undefined, off, len);
  }

  /**
   * Takes the next datagram: copies up to `len` bytes into `buf[off..]`
   * (the rest of a longer datagram is discarded), fills `from`, and returns the
   * byte count, -EAGAIN when none waits, or a pending ICMP error (once).
   */
  tryRecvFrom(buf: Uint8Array, off = 0, len = buf.length - off, from?: SockAddr): number {
    if (this.closed) return -NET_ERRNO.EBADF;
    if (this.qCount === 0) {
      if (this.pendingError !== 0) {
        const e = this.pendingError;
        this.pendingError = 0;
        return e;
      }
      return EAGAIN;
    }
    const i = this.qHead;
    const m = this.qM[i]!;
    const total = this.qLen[i]!;
    if (from !== undefined) {
      from.address = this.qSrc[i]!;
      from.port = this.qPort[i]!;
    }
    this.qHead = (i + 1) % MAX_QUEUED;
    this.qCount--;
    const pool = this.ctx.core.pool;
    let copied = 0;
    for (let c = m; c >= 0 && copied < len; c = pool.next(c)) {
      const n = Math.min(pool.len(c), len - copied);
      copyBytes(buf, off + copied, pool.bytes, pool.off(c), n);
      copied += n;
    }
    this.queuedBytes -= chainCost(pool, m);
    pool.freeChain(m);
    void total;
    return copied;
  }

  /** Waits for a datagram. Throws NetError with a pending ICMP error (ECONNREFUSED...) or EBADF. */
  async recvFrom(buf: Uint8Array, off = 0, len = buf.length - off): Promise<Datagram> {
    const from: SockAddr = { address: 0, port: 0 };
    for (;;) {
      const n = this.tryRecvFrom(buf, off, len, from);
      if (n >= 0) return { bytes: n, address: from.address, port: from.port };
      if (n !== EAGAIN) throw NetError.fromErrno(n, 'recvfrom');
      await this.waitFor(POLLIN);
    }
  }

  /** Readiness: POLLIN with datagrams queued, POLLOUT always, POLLERR with an ICMP error pending. */
  poll(): number {
    if (this.closed) return 0x020;
    return (this.qCount > 0 ? POLLIN : 0) | POLLOUT | (this.pendingError !== 0 ? POLLERR : 0);
  }

  /** Sets an option: SO_REUSEADDR, SO_BROADCAST, SO_RCVBUF, SO_SNDBUF. Throws NetError ENOPROTOOPT for others. */
  setOption(option: SocketOption, value: number): void {
    this.check('setsockopt');
    switch (option) {
      case 'SO_REUSEADDR': this.reuseAddr = value !== 0; return;
      case 'SO_BROADCAST': this.broadcast = value !== 0; return;
      case 'SO_RCVBUF': this.rcvbuf = Math.max(value, MBUF_SIZE); return;
      case 'SO_SNDBUF': this.sndbuf = Math.max(value, 1); return;
      default: throw new NetError('ENOPROTOOPT', `setsockopt: ${option} does not apply to UDP sockets`);
    }
  }

  /** Reads an option (SO_ERROR reads and clears the pending error). Throws NetError ENOPROTOOPT. */
  getOption(option: SocketOption): number {
    switch (option) {
      case 'SO_REUSEADDR': return this.reuseAddr ? 1 : 0;
      case 'SO_BROADCAST': return this.broadcast ? 1 : 0;
      case 'SO_RCVBUF': return this.rcvbuf;
      case 'SO_SNDBUF': return this.sndbuf;
      case 'SO_ERROR': {
        const e = -this.pendingError;
        this.pendingError = 0;
        return e;
      }
      default: throw new NetError('ENOPROTOOPT', `getsockopt: ${option} does not apply to UDP sockets`);
    }
  }

  /** Closes the socket and frees queued datagrams. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx.open--;
    this.ctx.udp.unbind(this);
    const pool = this.ctx.core.pool;
    while (this.qCount > 0) {
      pool.freeChain(this.qM[this.qHead]!);
      this.qHead = (this.qHead + 1) % MAX_QUEUED;
      this.qCount--;
    }
    this.queuedBytes = 0;
    this.deliverNotify();
  }

  /** @internal UdpEndpoint: queue a datagram (keeping `m` when it holds exactly one datagram). */
  udpDeliver(m: number, off: number, len: number, src: number, sport: number): boolean {
    const core = this.ctx.core;
    const pool = core.pool;
    const cost = Math.max(1, Math.ceil(len / MBUF_SIZE)) * MBUF_SIZE;
    if (this.closed || this.qCount === MAX_QUEUED || this.queuedBytes + cost > this.rcvbuf) {
      core.stats.udpRcvbufErrors++;
      return false;
    }
    let head: number;
    let kept = false;
    if (m >= 0) {
      pool.setData(m, off, len);
      head = m;
      kept = true;
    } else {
      head = copyToChain(pool, off, len);
      if (head < 0) {
        core.stats.noMbufs++;
        return false;
      }
    }
    const i = (this.qHead + this.qCount) % MAX_QUEUED;
    this.qM[i] = head;
    this.qLen[i] = len;
    this.qSrc[i] = src;
    this.qPort[i] = sport;
    this.qCount++;
    this.queuedBytes += chainCost(pool, head);
    this.notify();
    return kept;
  }

  /** @internal UdpEndpoint: an ICMP error for a datagram we sent. */
  udpError(errno: number): void {
    this.pendingError = errno;
    this.notify();
  }

  private check(what: string): void {
    if (this.closed) throw new NetError('EBADF', `${what} on a closed socket`);
  }
}

type Pool = SocketContext['core']['pool'];

function chainCost(pool: Pool, m: number): number {
  let n = 0;
  for (let c = m; c >= 0; c = pool.next(c)) n += MBUF_SIZE;
  return n;
}

/** Copies `pool.bytes[off, off+len)` into a fresh chain of mbufs; -1 when the pool runs dry. */
function copyToChain(pool: Pool, off: number, len: number): number {
  let head = -1;
  let tail = -1;
  for (let done = 0; done < len || head < 0; ) {
    const c = pool.alloc(0);
    if (c < 0) {
      if (head >= 0) pool.freeChain(head);
      return -1;
    }
    const n = Math.min(MBUF_SIZE, len - done);
    const o = pool.off(c);
    pool.bytes.copyWithin(o, off + done, off + done + n);
    pool.setData(c, o, n);
    if (head < 0) head = c;
    else pool.setNext(tail, c);
    tail = c;
    done += n;
  }
  return head;
}
