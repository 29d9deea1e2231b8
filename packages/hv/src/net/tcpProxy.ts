/**
 * Outbound TCP of the user network: every connection the guest opens is
 * accepted by the gateway stack on its proxy port (the translator steers it
 * there) and spliced to a host socket to the same destination.
 *
 * The guest's SYN is held until the host connection is made, as slirp does,
 * so the guest sees the host's answer: on success the SYN is replayed and the
 * gateway stack completes the handshake; on failure (refused, unreachable,
 * timed out, or forbidden by the outbound policy) it is steered to the
 * gateway's refuse port, whose RST becomes the guest's ECONNREFUSED.
 * Connections to the DNS address, port 53, are served by DnsTcpSession.
 */
import { connect, type Socket } from 'node:net';
import { DnsTcpSession } from './dnsTcpSession.js';
import { newFlow, type NatFlow } from './natTable.js';
import { TCP_PROXY_PORT, TCP_REFUSE_PORT, type TcpNatHandler } from './natTranslator.js';
import type { TcpSocket } from './netchannel.js';
import { routeOutbound, type OutboundContext } from './outboundRoute.js';
import { TcpRelay } from './tcpRelay.js';

/** A host connection attempt gives up after this long, ms. */
const CONNECT_TIMEOUT_MS = 20_000;
/** An opened flow whose handshake the guest never finishes is dropped after this long, ms. */
const ACCEPT_TIMEOUT_MS = 30_000;
/** Accept backlog of the proxy port. */
const BACKLOG = 512;

/** What a flow is spliced to once accepted. */
interface Splice {
  destroy(): void;
}

/** An outbound TCP flow. */
export interface TcpFlow extends NatFlow {
  /** connecting: the host socket is being connected (the SYN is held); open: steered to the proxy port; refused: to the refuse port. */
  state: 'connecting' | 'open' | 'refused';
  /** Where the flow goes on the host side. */
  readonly service: 'host' | 'dns';
  /** The guest's latest SYN (whole frame) while connecting. */
  held: Uint8Array | null;
  host: Socket | null;
  splice: Splice | null;
  /** Clock ms of the last state change. */
  since: number;
}

/** What the TCP proxy needs from its backend. */
export interface TcpProxyContext extends OutboundContext<TcpFlow> {
  /** Runs a held guest frame through the backend's receive path again. */
  replay(frame: Uint8Array): void;
  /** How long a closed flow's NAT port stays reserved (the gateway stack's TIME-WAIT), ms. */
  readonly quarantineMs: number;
}

/** The outbound TCP proxy. */
export class TcpProxy implements TcpNatHandler {
  private readonly listener: TcpSocket;
  private closed = false;

  /** Listens on the gateway's proxy port. Throws NetError if the port is taken. */
  constructor(private readonly ctx: TcpProxyContext) {
    const l = ctx.stack.tcpSocket();
    l.bind(ctx.gateway, TCP_PROXY_PORT);
    l.listen(BACKLOG);
    l.watch(() => this.acceptAll());
    this.listener = l;
  }

  /** Host sockets open (connecting or connected). */
  get hostSockets(): number {
    let n = 0;
    for (const f of this.ctx.flows.liveFlows()) if (f.host !== null) n++;
    return n;
  }

  guestSyn(flow: NatFlow | undefined, src: number, sport: number, dst: number, dport: number, frame: Uint8Array, off: number, len: number): NatFlow | null {
    const f = flow as TcpFlow | undefined;
    if (f !== undefined) {
      if (f.state !== 'connecting') return f;
      f.held = frame.slice(off, off + len); // a retransmission: keep the latest
      return null;
    }
    if (this.closed) return null;
    return this.open(src, sport, dst, dport, frame.slice(off, off + len));
  }

  refusedReset(flow: NatFlow): void {
    this.ctx.flows.remove(flow as TcpFlow);
  }

  /** Drops flows the guest abandoned half-way. */
  sweep(now: number): void {
    for (const f of this.ctx.flows.liveFlows()) {
      if (f.splice !== null || f.state === 'connecting' || now - f.since < ACCEPT_TIMEOUT_MS) continue;
      f.host?.destroy();
      this.ctx.flows.remove(f);
    }
  }

  /** Resets every connection and stops listening. */
  close(): void {
    this.closed = true;
    void this.listener.close();
    for (const f of this.ctx.flows.liveFlows()) {
      f.splice?.destroy();
      f.host?.destroy();
      this.ctx.flows.remove(f);
    }
  }

  /** A new flow for a SYN: the flow to translate it with now, or null (held while connecting, or no room). */
  private open(src: number, sport: number, dst: number, dport: number, syn: Uint8Array): TcpFlow | null {
    const c = this.ctx;
    const { service, hostAddr, allowed } = routeOutbound(c, dst, dport, 'tcp');
    const base = newFlow(src, sport, dst, dport, allowed ? TCP_PROXY_PORT : TCP_REFUSE_PORT);
    const f: TcpFlow = Object.assign(base, {
      state: allowed ? (service === 'dns' ? 'open' : 'connecting') : 'refused',
      service, held: null, host: null, splice: null, since: c.stack.now(),
    } as const);
    if (!c.flows.add(f)) return null;
    if (f.state !== 'connecting') return f;
    f.held = syn;
    this.connectHost(f, hostAddr);
    return null;
  }

  private connectHost(f: TcpFlow, hostAddr: string): void {
    const s = connect({ host: hostAddr, port: f.destPort, allowHalfOpen: true, noDelay: true });
    s.unref();
    f.host = s;
    s.setTimeout(CONNECT_TIMEOUT_MS, () => s.destroy(new Error('connect timed out')));
    const failed = (): void => this.connected(f, false);
    s.once('error', failed);
    s.once('connect', () => {
      s.off('error', failed);
      s.on('error', () => {}); // until the relay takes over, 'close' tells it what happened
      s.setTimeout(0);
      s.pause();
      this.connected(f, true);
    });
  }

  /** The host connection of a flow succeeded or failed: replay the held SYN so the guest hears of it. */
  private connected(f: TcpFlow, ok: boolean): void {
    if (this.ctx.flows.byNatPort(f.natPort) !== f || f.state !== 'connecting') {
      f.host?.destroy();
      return;
    }
    if (!ok) {
      f.host?.destroy();
      f.host = null;
      f.gatewayPort = TCP_REFUSE_PORT;
    }
    f.state = ok ? 'open' : 'refused';
    f.since = this.ctx.stack.now();
    const syn = f.held;
    f.held = null;
    if (syn !== null) this.ctx.replay(syn);
  }

  private acceptAll(): void {
    for (let s = this.listener.tryAccept(); typeof s !== 'number'; s = this.listener.tryAccept()) this.accepted(s);
  }

  /** A guest connection completed its handshake on the proxy port: splice it to its flow's host side. */
  private accepted(sock: TcpSocket): void {
    const f = this.ctx.flows.byNatPort(sock.remotePort);
    if (f === undefined || f.retiredUntil !== 0 || f.state !== 'open' || f.splice !== null || sock.remoteAddress !== f.guestAddr) {
      sock.abort();
      return;
    }
    sock.setOption('TCP_NODELAY', 1);
    const done = (): void => this.finished(f);
    if (f.service === 'dns') f.splice = new DnsTcpSession(sock, this.ctx.dnsForwarder, done);
    else if (f.host !== null) f.splice = new TcpRelay(sock, f.host, done);
    else sock.abort();
  }

  private finished(f: TcpFlow): void {
    f.host = null;
    this.ctx.flows.retire(f, this.ctx.stack.now() + this.ctx.quarantineMs);
  }
}
