/**
 * Outbound UDP of the user network: each flow the guest starts (its address
 * and port to a destination address and port) gets a NAT entry and a host
 * `dgram` socket; the translator steers the guest's datagrams to the gateway
 * stack's UDP proxy port, where they are read and sent on from the flow's
 * host socket. Replies — accepted only from the flow's destination — go back
 * through the proxy port and the translator to the guest. Datagrams to the
 * DNS address, port 53, are answered by the DNS forwarder instead.
 *
 * A flow ends after `idleMs` without traffic either way (`dnsIdleMs` for
 * DNS); when the table is full the least recently used flow makes room.
 */
import { createSocket, type RemoteInfo, type Socket as DgramSocket } from 'node:dgram';
import { newFlow, type NatFlow } from './natTable.js';
import { UDP_PROXY_PORT, type UdpNatHandler } from './natTranslator.js';
import { DNS_UDP_MAX, NET_ERRNO, type SockAddr, type UdpSocket } from './netchannel.js';
import { routeOutbound, type OutboundContext } from './outboundRoute.js';

const EAGAIN = -NET_ERRNO.EAGAIN;
const EBADF = -NET_ERRNO.EBADF;

/** An outbound UDP flow. */
export interface UdpFlow extends NatFlow {
  readonly service: 'host' | 'dns';
  /** Host address the flow's datagrams go to. */
  readonly hostAddr: string;
  /** The flow's host socket (null for DNS). */
  socket: DgramSocket | null;
  /** Clock ms of the last datagram either way. */
  lastUsed: number;
}

/** What the UDP proxy needs from its backend. */
export interface UdpProxyContext extends OutboundContext<UdpFlow> {
  /** The gateway's own UDP ports (DHCP, hostfwd sessions): not translated. */
  readonly gatewayPorts: ReadonlySet<number>;
  /** Idle time after which a flow ends, ms. */
  readonly idleMs: number;
  readonly dnsIdleMs: number;
}

/** The outbound UDP proxy. */
export class UdpProxy implements UdpNatHandler {
  private readonly sock: UdpSocket;
  private readonly buf = new Uint8Array(65_536);
  private readonly from: SockAddr = { address: 0, port: 0 };

  /** Binds the gateway's UDP proxy port. Throws NetError if it is taken. */
  constructor(private readonly ctx: UdpProxyContext) {
    const s = ctx.stack.udpSocket();
    s.bind(ctx.gateway, UDP_PROXY_PORT);
    s.watch(() => this.drain());
    this.sock = s;
  }

  /** Host sockets open. */
  get hostSockets(): number {
    let n = 0;
    for (const f of this.ctx.flows.liveFlows()) if (f.socket !== null) n++;
    return n;
  }

  isGatewayPort(port: number): boolean {
    return this.ctx.gatewayPorts.has(port);
  }

  guestDatagram(src: number, sport: number, dst: number, dport: number): NatFlow | null {
    const c = this.ctx;
    const now = c.stack.now();
    const known = c.flows.lookup(src, sport, dst, dport);
    if (known !== undefined) {
      known.lastUsed = now;
      return known;
    }
    const { service, hostAddr, allowed } = routeOutbound(c, dst, dport, 'udp');
    if (!allowed) return null;
    const f: UdpFlow = Object.assign(newFlow(src, sport, dst, dport, UDP_PROXY_PORT), { service, hostAddr, socket: null, lastUsed: now } as const);
    if (!c.flows.add(f)) {
      this.evictOldest();
      if (!c.flows.add(f)) return null;
    }
    if (service === 'host') f.socket = this.hostSocket(f);
    return f;
  }

  /** Ends flows idle for too long. */
  sweep(now: number): void {
    for (const f of this.ctx.flows.liveFlows()) {
      if (now - f.lastUsed >= (f.service === 'dns' ? this.ctx.dnsIdleMs : this.ctx.idleMs)) this.end(f);
    }
  }

  /** Ends every flow and unbinds the proxy port. */
  close(): void {
    for (const f of this.ctx.flows.liveFlows()) this.end(f);
    this.sock.close();
  }

  private hostSocket(f: UdpFlow): DgramSocket {
    const s = createSocket('udp4');
    s.on('message', (msg, rinfo) => this.fromHost(f, msg, rinfo));
    s.on('error', () => this.end(f));
    s.bind({ address: f.hostAddr.startsWith('127.') ? '127.0.0.1' : '0.0.0.0', port: 0 });
    s.unref();
    return s;
  }

  /** Datagrams the guest sent, waiting on the proxy port. */
  private drain(): void {
    const from = this.from;
    for (let n = this.sock.tryRecvFrom(this.buf, 0, this.buf.length, from); n !== EAGAIN; n = this.sock.tryRecvFrom(this.buf, 0, this.buf.length, from)) {
      if (n === EBADF) return;
      if (n < 0) continue; // a pending ICMP error, reported once
      const f = this.ctx.flows.byNatPort(from.port);
      if (f === undefined || f.retiredUntil !== 0 || f.guestAddr !== from.address) continue;
      if (f.service === 'dns') this.answerDns(f, n);
      else f.socket?.send(Buffer.from(this.buf.subarray(0, n)), f.destPort, f.hostAddr);
    }
  }

  private answerDns(f: UdpFlow, n: number): void {
    const answer = this.ctx.dnsForwarder.answer(this.buf, 0, n, DNS_UDP_MAX);
    void answer?.then((reply) => {
      if (this.ctx.flows.byNatPort(f.natPort) === f) this.sock.sendTo(reply, f.guestAddr, f.natPort);
    });
  }

  private fromHost(f: UdpFlow, msg: Buffer, rinfo: RemoteInfo): void {
    if (this.ctx.flows.byNatPort(f.natPort) !== f || rinfo.address !== f.hostAddr || rinfo.port !== f.destPort) return;
    f.lastUsed = this.ctx.stack.now();
    this.sock.sendTo(msg, f.guestAddr, f.natPort);
  }

  private evictOldest(): void {
    let oldest: UdpFlow | undefined;
    for (const f of this.ctx.flows.liveFlows()) if (oldest === undefined || f.lastUsed < oldest.lastUsed) oldest = f;
    if (oldest !== undefined) this.end(oldest);
  }

  private end(f: UdpFlow): void {
    const s = f.socket;
    f.socket = null;
    try {
      s?.close();
    } catch {
      // already closed by an error
    }
    this.ctx.flows.remove(f);
  }
}
