/**
 * `hostfwd=udp:...`: a host UDP socket; each host peer (address and port)
 * that sends to it gets a session — a UDP socket of the gateway stack on an
 * ephemeral port — whose datagrams go to the guest's address and port, and
 * whose replies from there go back to that peer. Sessions end after an idle
 * time; the oldest makes room when there are too many.
 */
import { createSocket, type RemoteInfo, type Socket as DgramSocket } from 'node:dgram';
import { HvError } from '../errors.js';
import type { HostForward } from './userNetOptions.js';
import { formatIPv4, NET_ERRNO, type NetStack, type SockAddr, type UdpSocket } from './netchannel.js';

const EAGAIN = -NET_ERRNO.EAGAIN;
/** Sessions at once. */
const MAX_SESSIONS = 64;

interface Session {
  readonly key: string;
  readonly sock: UdpSocket;
  readonly peerAddr: string;
  readonly peerPort: number;
  lastUsed: number;
}

/** One UDP host-forward rule, bound. */
export class UdpHostForward {
  private readonly sessions = new Map<string, Session>();
  private readonly buf = new Uint8Array(65_536);
  private readonly from: SockAddr = { address: 0, port: 0 };

  /**
   * Binds the rule's host address and port. `gatewayPorts` is the backend's
   * set of the gateway's own UDP ports; session ports are added to it.
   * @throws HvError BAD_OPTION when the host port cannot be bound
   */
  static bind(stack: NetStack, rule: HostForward, gateway: number, gatewayPorts: Set<number>, idleMs: number): Promise<UdpHostForward> {
    return new Promise((resolve, reject) => {
      const host = createSocket('udp4');
      host.once('error', (e: NodeJS.ErrnoException) => {
        reject(new HvError('BAD_OPTION', `--net user,hostfwd=udp:${rule.hostAddress}:${rule.hostPort}-${formatIPv4(rule.guestAddress)}:${rule.guestPort}: cannot bind the host port (${e.code ?? e.message}) — pick another port`, { cause: e }));
      });
      host.bind(rule.hostPort, rule.hostAddress, () => {
        host.removeAllListeners('error');
        host.on('error', () => {});
        host.unref();
        resolve(new UdpHostForward(stack, rule, host, gateway, gatewayPorts, idleMs));
      });
    });
  }

  private constructor(
    private readonly stack: NetStack,
    readonly rule: HostForward,
    private readonly host: DgramSocket,
    private readonly gateway: number,
    private readonly gatewayPorts: Set<number>,
    private readonly idleMs: number,
  ) {
    host.on('message', (msg, rinfo) => this.fromHost(msg, rinfo));
  }

  /** The host port bound (the chosen one when the rule said 0). */
  get port(): number {
    return this.host.address().port;
  }

  /** Live sessions. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Ends idle sessions. */
  sweep(now: number): void {
    for (const s of [...this.sessions.values()]) if (now - s.lastUsed >= this.idleMs) this.end(s);
  }

  /** Ends every session and unbinds the host port. */
  close(): Promise<void> {
    for (const s of [...this.sessions.values()]) this.end(s);
    return new Promise((resolve) => this.host.close(() => resolve()));
  }

  private fromHost(msg: Buffer, rinfo: RemoteInfo): void {
    const s = this.sessions.get(`${rinfo.address}:${rinfo.port}`) ?? this.open(rinfo);
    if (s === null) return;
    s.lastUsed = this.stack.now();
    s.sock.sendTo(msg, this.rule.guestAddress, this.rule.guestPort);
  }

  private open(rinfo: RemoteInfo): Session | null {
    if (this.sessions.size >= MAX_SESSIONS) this.end(this.oldest()!);
    const sock = this.stack.udpSocket();
    try {
      sock.bind(this.gateway, 0);
    } catch {
      sock.close();
      return null;
    }
    const s: Session = { key: `${rinfo.address}:${rinfo.port}`, sock, peerAddr: rinfo.address, peerPort: rinfo.port, lastUsed: 0 };
    this.gatewayPorts.add(sock.localPort);
    sock.watch(() => this.fromGuest(s));
    this.sessions.set(s.key, s);
    return s;
  }

  private fromGuest(s: Session): void {
    const from = this.from;
    for (let n = s.sock.tryRecvFrom(this.buf, 0, this.buf.length, from); n !== EAGAIN; n = s.sock.tryRecvFrom(this.buf, 0, this.buf.length, from)) {
      if (n < 0) {
        if (n === -NET_ERRNO.EBADF) return;
        continue;
      }
      if (from.address !== this.rule.guestAddress || from.port !== this.rule.guestPort) continue;
      s.lastUsed = this.stack.now();
      this.host.send(Buffer.from(this.buf.subarray(0, n)), s.peerPort, s.peerAddr);
    }
  }

  private oldest(): Session | undefined {
    let o: Session | undefined;
    for (const s of this.sessions.values()) if (o === undefined || s.lastUsed < o.lastUsed) o = s;
    return o;
  }

  private end(s: Session): void {
    this.gatewayPorts.delete(s.sock.localPort);
    s.sock.close();
    this.sessions.delete(s.key);
  }
}
