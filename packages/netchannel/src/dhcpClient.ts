/**
 * A DHCP client (RFC 2131 §4.4, figure 5): INIT → SELECTING → REQUESTING →
 * BOUND → RENEWING (T1, unicast) → REBINDING (T2, broadcast) → INIT when the
 * lease runs out or a NAK arrives. Retransmissions back off 4, 8, 16, 32, 64 s
 * with ±1 s of randomisation (RFC 2131 §4.1). On ACK it configures the
 * interface (address, mask, router) and reports the DNS servers.
 */
import { formatIPv4 } from './address.js';
import { NetError } from './errors.js';
import type { NetInterface } from './netInterface.js';
import type { NetStack } from './netStack.js';
import type { UdpSocket } from './udpSocket.js';
import {
  BOOTREPLY, BOOTREQUEST, DHCP_CLIENT_PORT, DHCP_FLAG_BROADCAST, DHCP_SERVER_PORT, DHCPACK, DHCPDISCOVER, DHCPNAK,
  DHCPOFFER, DHCPRELEASE, DHCPREQUEST, DHO_CLIENT_IDENTIFIER, DHO_DOMAIN_NAME_SERVERS, DHO_HOST_NAME, DHO_MESSAGE_TYPE,
  DHO_PARAMETER_REQUEST_LIST, DHO_REQUESTED_ADDRESS, DHO_ROUTERS, DHO_SERVER_IDENTIFIER, DHO_SUBNET_MASK, DhcpWriter,
  parseDhcp, type DhcpMessage,
} from './internal/wire/dhcp.js';

/** A lease as configured. Times are ms on the stack's clock. */
export interface DhcpLease {
  address: number;
  prefixLength: number;
  gateway: number;
  dnsServers: number[];
  server: number;
  leaseMs: number;
  obtainedAt: number;
}

/** Client states (RFC 2131 figure 5). */
export type DhcpState = 'INIT' | 'SELECTING' | 'REQUESTING' | 'BOUND' | 'RENEWING' | 'REBINDING' | 'STOPPED';

/** Options of DhcpClient. */
export interface DhcpClientOptions {
  /** Host name to send (option 12). */
  readonly hostname?: string;
  /** Called whenever a lease is (re)configured or lost (null). */
  readonly onLease?: (lease: DhcpLease | null) => void;
}

const BACKOFF_MS = [4000, 8000, 16_000, 32_000, 64_000];

/** DHCP for one interface. */
export class DhcpClient {
  private readonly stack: NetStack;
  private readonly iface: NetInterface;
  private readonly opts: DhcpClientOptions;
  private sock: UdpSocket | null = null;
  private xid = 0;
  private tries = 0;
  private offer: DhcpMessage | null = null;
  private cancelTimer: (() => void) | null = null;
  private cancelT1: (() => void) | null = null;
  private cancelT2: (() => void) | null = null;
  private cancelExpiry: (() => void) | null = null;
  private waiters: ((l: DhcpLease) => void)[] = [];
  /** Current state. */
  state: DhcpState = 'STOPPED';
  /** The lease in force, or null. */
  lease: DhcpLease | null = null;

  constructor(stack: NetStack, iface: NetInterface, options: DhcpClientOptions = {}) {
    this.stack = stack;
    this.iface = iface;
    this.opts = options;
  }

  /**
   * Starts (INIT) and resolves with the first lease. Throws NetError EINVAL for
   * the loopback interface, EADDRINUSE when port 68 is taken, ETIMEDOUT when
   * `timeoutMs` passes first (the client then stops).
   */
  start(timeoutMs = 0): Promise<DhcpLease> {
    if (this.iface.nif.link === null) return Promise.reject(new NetError('EINVAL', 'DHCP on the loopback interface'));
    if (this.sock === null) {
      const s = this.stack.udpSocket();
      s.setOption('SO_REUSEADDR', 1);
      s.setOption('SO_BROADCAST', 1);
      s.bind(0, DHCP_CLIENT_PORT);
      s.via = this.stack.netif(this.iface);
      s.watch(() => this.receive());
      this.sock = s;
      this.init();
    }
    if (this.lease !== null && (this.state === 'BOUND' || this.state === 'RENEWING' || this.state === 'REBINDING')) return Promise.resolve(this.lease);
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      if (timeoutMs > 0) {
        this.stack.schedule(timeoutMs, () => {
          if (this.lease === null) {
            this.stop();
            reject(new NetError('ETIMEDOUT', `DHCP on ${this.iface.name}: no lease within ${timeoutMs} ms`));
          }
        });
      }
    });
  }

  /** Releases the lease (DHCPRELEASE), unconfigures the interface and stops. */
  stop(): void {
    if (this.lease !== null && this.sock !== null) {
      const w = new DhcpWriter(BOOTREQUEST, this.stack.random32(), this.iface.mac).field('ciaddr', this.lease.address);
      w.option(DHO_MESSAGE_TYPE, [DHCPRELEASE]).option32(DHO_SERVER_IDENTIFIER, this.lease.server);
      this.send(w.finish(), this.lease.server);
    }
    this.clearTimers();
    this.dropLease();
    this.sock?.close();
    this.sock = null;
    this.state = 'STOPPED';
  }

  private init(): void {
    this.dropLease();
    this.state = 'SELECTING';
    this.xid = this.stack.random32();
    this.tries = 0;
    this.offer = null;
    this.discover();
  }

  private discover(): void {
    const w = this.request(DHCPDISCOVER, 0);
    this.send(w.finish(), 0xffffffff);
    this.retry(() => this.discover());
  }

  private sendRequest(): void {
    const o = this.offer!;
    const w = this.request(DHCPREQUEST, 0);
    w.option32(DHO_REQUESTED_ADDRESS, o.yiaddr).option32(DHO_SERVER_IDENTIFIER, o.serverId);
    this.send(w.finish(), 0xffffffff);
    this.retry(() => {
      if (this.tries >= 4) this.init(); // RFC 2131 §3.1.5: back to INIT after the retries
      else this.sendRequest();
    });
  }

  /** RENEWING / REBINDING: REQUEST with ciaddr, retransmitted at half the time left, at least 60 s apart (RFC 2131 §4.4.5). */
  private renew(broadcast: boolean, until: number): void {
    const l = this.lease;
    if (l === null) return;
    const w = this.request(DHCPREQUEST, l.address);
    this.send(w.finish(), broadcast ? 0xffffffff : l.server);
    const left = until - this.stack.now();
    this.cancelTimer?.();
    if (left > 60_000) this.cancelTimer = this.stack.schedule(Math.max(60_000, left / 2), () => this.renew(broadcast, until));
  }

  private request(type: number, ciaddr: number): DhcpWriter {
    const w = new DhcpWriter(BOOTREQUEST, this.xid, this.iface.mac, ciaddr === 0 ? DHCP_FLAG_BROADCAST : 0).field('ciaddr', ciaddr);
    w.option(DHO_MESSAGE_TYPE, [type]);
    w.option(DHO_CLIENT_IDENTIFIER, [1, ...this.iface.mac]);
    w.option(DHO_PARAMETER_REQUEST_LIST, [DHO_SUBNET_MASK, DHO_ROUTERS, DHO_DOMAIN_NAME_SERVERS]);
    if (this.opts.hostname !== undefined) w.option(DHO_HOST_NAME, Array.from(this.opts.hostname.slice(0, 63), (ch) => ch.charCodeAt(0) & 0x7f));
    return w;
  }

  private send(msg: Uint8Array, to: number): void {
    this.sock?.sendTo(msg, to, DHCP_SERVER_PORT);
  }

  private retry(again: () => void): void {
    this.cancelTimer?.();
    const base = BACKOFF_MS[Math.min(this.tries, BACKOFF_MS.length - 1)]!;
    const jitter = (this.stack.random32() % 2001) - 1000;
    this.tries++;
    this.cancelTimer = this.stack.schedule(base + jitter, again);
  }

  private receive(): void {
    const s = this.sock;
    if (s === null) return;
    const buf = new Uint8Array(1500);
    for (let n = s.tryRecvFrom(buf); n >= 0; n = s.tryRecvFrom(buf)) {
      const m = parseDhcp(buf, 0, n);
      if (m === null || m.op !== BOOTREPLY || m.xid !== this.xid || !sameMac(m.chaddr, this.iface.mac)) continue;
      this.handle(m);
    }
  }

  private handle(m: DhcpMessage): void {
    if (m.type === DHCPOFFER && this.state === 'SELECTING' && m.serverId !== 0 && m.yiaddr !== 0) {
      this.offer = m;
      this.state = 'REQUESTING';
      this.tries = 0;
      this.sendRequest();
      return;
    }
    const waiting = this.state === 'REQUESTING' || this.state === 'RENEWING' || this.state === 'REBINDING';
    if (!waiting) return;
    if (m.type === DHCPNAK) {
      this.clearTimers();
      this.init();
      return;
    }
    if (m.type === DHCPACK && m.yiaddr !== 0) this.bind(m);
  }

  private bind(m: DhcpMessage): void {
    this.clearTimers();
    const now = this.stack.now();
    const leaseMs = (m.leaseSeconds > 0 ? m.leaseSeconds : 3600) * 1000;
    const server = m.serverId !== 0 ? m.serverId : (this.offer?.serverId ?? this.lease?.server ?? 0);
    const mask = m.subnetMask !== 0 ? m.subnetMask : 0xffffff00;
    const prefixLength = 32 - countZeros(mask);
    const gateway = m.routers.find((r) => ((r ^ m.yiaddr) & mask) === 0) ?? 0;
    this.iface.configure({ address: m.yiaddr, prefixLength, ...(gateway !== 0 ? { gateway } : {}) });
    this.lease = { address: m.yiaddr, prefixLength, gateway, dnsServers: m.dns, server, leaseMs, obtainedAt: now };
    this.state = 'BOUND';
    const t1 = m.renewalSeconds > 0 ? m.renewalSeconds * 1000 : leaseMs / 2;
    const t2 = m.rebindingSeconds > 0 ? m.rebindingSeconds * 1000 : (leaseMs * 7) / 8;
    this.cancelT1 = this.stack.schedule(t1, () => {
      this.state = 'RENEWING';
      this.xid = this.stack.random32();
      this.renew(false, now + t2);
    });
    this.cancelT2 = this.stack.schedule(t2, () => {
      this.state = 'REBINDING';
      this.xid = this.stack.random32();
      this.renew(true, now + leaseMs);
    });
    this.cancelExpiry = this.stack.schedule(leaseMs, () => this.init());
    this.opts.onLease?.(this.lease);
    for (const w of this.waiters.splice(0)) w(this.lease);
  }

  private dropLease(): void {
    if (this.lease !== null) {
      this.lease = null;
      this.iface.unconfigure();
      this.opts.onLease?.(null);
    }
  }

  private clearTimers(): void {
    for (const c of [this.cancelTimer, this.cancelT1, this.cancelT2, this.cancelExpiry]) c?.();
    this.cancelTimer = this.cancelT1 = this.cancelT2 = this.cancelExpiry = null;
  }

  /** "address/prefix via gateway" for logs. */
  toString(): string {
    const l = this.lease;
    return l === null ? `dhcp ${this.iface.name}: ${this.state}` : `dhcp ${this.iface.name}: ${formatIPv4(l.address)}/${l.prefixLength} via ${formatIPv4(l.gateway)}`;
  }
}

function countZeros(mask: number): number {
  let n = 0;
  for (let m = mask >>> 0; n < 32 && (m & 1) === 0; m >>>= 1) n++;
  return n;
}

function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}
