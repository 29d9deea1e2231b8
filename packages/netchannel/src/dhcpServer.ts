/**
 * A small DHCP server (RFC 2131 §4.3) for a stack that is the gateway of a
 * segment — the hv's user-mode network — and for tests: a range of addresses,
 * leases bound to the client's MAC, OFFER/ACK/NAK, RELEASE and INFORM.
 * Replies are broadcast unless the client already has an address (ciaddr).
 */
import { toIPv4 } from './address.js';
import { NetError } from './errors.js';
import type { NetInterface } from './netInterface.js';
import type { NetStack } from './netStack.js';
import type { UdpSocket } from './udpSocket.js';
import {
  BOOTREPLY, BOOTREQUEST, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DHCPACK, DHCPDECLINE, DHCPDISCOVER, DHCPINFORM, DHCPNAK,
  DHCPOFFER, DHCPRELEASE, DHCPREQUEST, DHO_DOMAIN_NAME_SERVERS, DHO_LEASE_TIME, DHO_MESSAGE_TYPE, DHO_ROUTERS,
  DHO_SERVER_IDENTIFIER, DHO_SUBNET_MASK, DhcpWriter, parseDhcp, type DhcpMessage,
} from './internal/wire/dhcp.js';

/** What the server hands out. */
export interface DhcpServerOptions {
  /** First and last address of the pool. */
  readonly rangeStart: number | string;
  readonly rangeEnd: number | string;
  /** Router option (default: the serving interface's address). */
  readonly router?: number | string;
  /** DNS servers option. */
  readonly dnsServers?: readonly (number | string)[];
  /** Lease time, seconds (default 86400). */
  readonly leaseSeconds?: number;
}

interface Lease {
  mac: string;
  address: number;
  expires: number;
}

/** A DHCP server on one configured interface. */
export class DhcpServer {
  private readonly stack: NetStack;
  private readonly iface: NetInterface;
  private readonly first: number;
  private readonly last: number;
  private readonly router: number;
  private readonly dns: number[];
  private readonly leaseSeconds: number;
  private readonly leases = new Map<string, Lease>();
  private sock: UdpSocket | null = null;

  /** Throws NetError EINVAL when the interface is unconfigured or the range is empty or off its subnet. */
  constructor(stack: NetStack, iface: NetInterface, options: DhcpServerOptions) {
    this.stack = stack;
    this.iface = iface;
    this.first = toIPv4(options.rangeStart);
    this.last = toIPv4(options.rangeEnd);
    if (!iface.configured) throw new NetError('EINVAL', 'DhcpServer: configure the interface first');
    const mask = iface.netmask;
    if (this.last < this.first || ((this.first ^ iface.address) & mask) !== 0 || ((this.last ^ iface.address) & mask) !== 0) {
      throw new NetError('EINVAL', 'DhcpServer: the range must be non-empty and on the interface subnet');
    }
    this.router = options.router === undefined ? iface.address : toIPv4(options.router);
    this.dns = (options.dnsServers ?? []).map(toIPv4);
    this.leaseSeconds = options.leaseSeconds ?? 86_400;
  }

  /** Starts listening on port 67. Throws NetError EADDRINUSE if it is taken. */
  start(): void {
    if (this.sock !== null) return;
    const s = this.stack.udpSocket();
    s.setOption('SO_BROADCAST', 1);
    s.setOption('SO_REUSEADDR', 1);
    s.bind(0, DHCP_SERVER_PORT);
    s.via = this.stack.netif(this.iface);
    s.watch(() => this.receive());
    this.sock = s;
  }

  /** Stops serving (leases are kept for a restart). */
  stop(): void {
    this.sock?.close();
    this.sock = null;
  }

  /** Current bindings, MAC text → address. */
  bindings(): Map<string, number> {
    return new Map([...this.leases.values()].map((l) => [l.mac, l.address]));
  }

  private receive(): void {
    const s = this.sock;
    if (s === null) return;
    const buf = new Uint8Array(1500);
    for (let n = s.tryRecvFrom(buf); n >= 0; n = s.tryRecvFrom(buf)) {
      const m = parseDhcp(buf, 0, n);
      if (m !== null && m.op === BOOTREQUEST) this.handle(m);
    }
  }

  private handle(m: DhcpMessage): void {
    const mac = Array.from(m.chaddr, (x) => x.toString(16).padStart(2, '0')).join(':');
    const me = this.iface.address;
    switch (m.type) {
      case DHCPDISCOVER: {
        const a = this.allocate(mac, m.requested);
        if (a !== 0) this.reply(m, DHCPOFFER, a);
        return;
      }
      case DHCPREQUEST: {
        if (m.serverId !== 0 && m.serverId !== me) {
          // The client chose another server: forget our offer unless it is bound.
          const l = this.leases.get(mac);
          if (l !== undefined && l.expires === 0) this.leases.delete(mac);
          return;
        }
        const want = m.requested !== 0 ? m.requested : m.ciaddr;
        const l = this.leases.get(mac);
        if (l === undefined || l.address !== want) {
          this.reply(m, DHCPNAK, 0);
          return;
        }
        l.expires = this.stack.now() + this.leaseSeconds * 1000;
        this.reply(m, DHCPACK, l.address);
        return;
      }
      case DHCPRELEASE:
      case DHCPDECLINE:
        this.leases.delete(mac);
        return;
      case DHCPINFORM:
        this.reply(m, DHCPACK, 0);
        return;
      default:
        return;
    }
  }

  /** The client's existing address, the one it asks for if free, else the first free one; 0 when the pool is full. */
  private allocate(mac: string, requested: number): number {
    const now = this.stack.now();
    for (const [k, l] of this.leases) if (l.expires !== 0 && l.expires < now && k !== mac) this.leases.delete(k);
    const mine = this.leases.get(mac);
    if (mine !== undefined) return mine.address;
    const used = new Set([...this.leases.values()].map((l) => l.address));
    used.add(this.iface.address);
    let pick = 0;
    if (requested >= this.first && requested <= this.last && !used.has(requested)) pick = requested;
    for (let a = this.first; pick === 0 && a <= this.last; a++) if (!used.has(a)) pick = a;
    if (pick !== 0) this.leases.set(mac, { mac, address: pick, expires: 0 });
    return pick;
  }

  private reply(req: DhcpMessage, type: number, yiaddr: number): void {
    const me = this.iface.address;
    const w = new DhcpWriter(BOOTREPLY, req.xid, req.chaddr, req.flags).field('yiaddr', yiaddr);
    w.option(DHO_MESSAGE_TYPE, [type]).option32(DHO_SERVER_IDENTIFIER, me);
    if (type !== DHCPNAK) {
      w.option32(DHO_SUBNET_MASK, this.iface.netmask).option32(DHO_ROUTERS, this.router);
      if (this.dns.length > 0) w.option32(DHO_DOMAIN_NAME_SERVERS, ...this.dns);
      if (type !== DHCPACK || yiaddr !== 0) w.option32(DHO_LEASE_TIME, this.leaseSeconds);
    }
    const to = req.ciaddr !== 0 && type !== DHCPNAK ? req.ciaddr : 0xffffffff;
    this.sock?.sendTo(w.finish(), to, DHCP_CLIENT_PORT);
  }
}
