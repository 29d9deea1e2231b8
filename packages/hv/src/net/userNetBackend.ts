/**
 * `--net user`: the embedded default network, after QEMU's slirp and passt.
 * The guest sees a small Ethernet segment (10.0.2.0/24 by default) with a
 * gateway at .2 that answers ARP and ping, hands out .15 by DHCP with itself
 * as router and .3 as DNS server, forwards DNS through the host's resolver,
 * carries the guest's TCP and UDP to host sockets, and forwards host ports
 * into the guest (`hostfwd=`).
 *
 * The gateway is a netchannel NetStack running on the host's event loop
 * (HostClock drives its timer heap with one unref'd setTimeout at a time, so
 * the backend never keeps the process alive by itself). Between the guest
 * and that stack sits the NatTranslator, which turns every guest flow into a
 * connection to the stack's own proxy ports (see natTranslator.ts); TcpProxy,
 * UdpProxy, DnsForwarder and the host-forward rules own the sockets.
 *
 * Everything is bounded (NAT flows, host sockets, DNS lookups in flight,
 * held frames, forwarded sessions), so a hostile guest cannot make the hv
 * hold unbounded resources.
 */
import { HvError } from '../errors.js';
import type { NetBackend, NetBackendEvents } from '../devices/netBackend.js';
import { DnsForwarder, type HostResolver } from './dnsForwarder.js';
import { GatewayLink } from './gatewayLink.js';
import { TcpHostForward } from './hostForwardTcp.js';
import { UdpHostForward } from './hostForwardUdp.js';
import { NatTable } from './natTable.js';
import { NAT_CONSUMED, NatTranslator } from './natTranslator.js';
import {
  DhcpServer, formatIPv4, HostClock, hostEntropy, MBUF_HEADROOM, MBUF_SIZE, NetStack, type NetInterface, type NetResources,
} from './netchannel.js';
import { loopbackOnly, nothingOutbound, type OutboundPolicy } from './outboundPolicy.js';
import { TcpProxy, type TcpFlow } from './tcpProxy.js';
import { UdpProxy, type UdpFlow } from './udpProxy.js';
import { DEFAULT_USER_NET, parseUserNetOptions, type HostForward, type UserNetOptions } from './userNetOptions.js';

/** Bounds on what the backend holds for the guest. */
export interface UserNetLimits {
  /** TCP flows (live and in their closing quarantine). */
  readonly tcpFlows: number;
  /** UDP flows (each with a host socket) and DNS conversations. */
  readonly udpFlows: number;
  /** DNS lookups in flight. */
  readonly dnsPending: number;
  /** A UDP flow ends after this long without traffic, ms. */
  readonly udpIdleMs: number;
  /** A DNS conversation over UDP ends after this long, ms. */
  readonly dnsIdleMs: number;
  /** A hostfwd=udp session ends after this long without traffic, ms. */
  readonly hostfwdUdpIdleMs: number;
}

/** The defaults (UDP idle times after Linux conntrack's 30 s/120 s and slirp's 240 s, rounded). */
export const DEFAULT_USER_NET_LIMITS: UserNetLimits = Object.freeze({
  tcpFlows: 1024,
  udpFlows: 256,
  dnsPending: 64,
  udpIdleMs: 120_000,
  dnsIdleMs: 10_000,
  hostfwdUdpIdleMs: 120_000,
});

/** How to build a user backend. */
export interface UserNetBackendOptions {
  /** The network (parsed `--net user,...` options, or their text); default QEMU's 10.0.2.0/24. */
  readonly net?: UserNetOptions | string;
  /** The device's MTU (576..1970, default 1500). */
  readonly mtu?: number;
  /** Which host destinations the guest may reach (default: 127.0.0.0/8; nothing with restrict=on). */
  readonly policy?: OutboundPolicy;
  /** The host resolver DNS queries go to (default `dns.lookup`). */
  readonly resolver?: HostResolver;
  readonly limits?: Partial<UserNetLimits>;
  /** Diagnostics. */
  readonly log?: (message: string) => void;
}

/** What the backend holds now: the counters tests check for leaks. */
export interface UserNetResources {
  tcpFlows: number;
  /** TCP flows including those whose NAT port is in quarantine. */
  tcpFlowsHeld: number;
  udpFlows: number;
  /** Host TCP and UDP sockets of outbound flows. */
  hostSockets: number;
  dnsPending: number;
  /** Forwarded connections and sessions (hostfwd). */
  forwarded: number;
  /** Frames waiting for the paused device. */
  heldFrames: number;
  /** The gateway stack's own counters. */
  stack: NetResources;
}

/** One host-forward rule as listening (the real host port when the rule said 0). */
export interface ForwardInfo extends HostForward {
  readonly boundPort: number;
}

/** Largest MTU: a frame plus netchannel's transmit headroom must fit one mbuf. */
const MAX_MTU = MBUF_SIZE - MBUF_HEADROOM - 14;
/** Period of the idle sweep, ms. */
const SWEEP_MS = 1000;
/** The gateway stack's maximum segment lifetime, ms: its TIME-WAIT is twice this (a virtual wire holds no old segments). */
const GATEWAY_MSL_MS = 1000;
/** Bytes of packet memory for the gateway stack: 4096 mbufs, the rest socket buffers. */
const GATEWAY_MEMORY = 64 * 1024 * 1024;
/** Headroom of a received frame in its mbuf (netchannel aligns the IP header so). */
const RX_HEADROOM = 2;

/** The user-mode network backend. */
export class UserNetBackend implements NetBackend {
  readonly description: string;
  /** The options in force. */
  readonly net: UserNetOptions;
  /** The gateway stack (for diagnostics and tests). */
  readonly stack: NetStack;
  /** Frames from the guest dropped (backend closed, frame too long, no packet memory). */
  dropped = 0;
  private readonly link: GatewayLink;
  private readonly iface: NetInterface;
  private readonly translator: NatTranslator;
  private readonly tcpFlows: NatTable<TcpFlow>;
  private readonly udpFlows: NatTable<UdpFlow>;
  private readonly dnsForwarder: DnsForwarder;
  private readonly dhcp: DhcpServer;
  private readonly tcp: TcpProxy;
  private readonly udp: UdpProxy;
  private readonly gatewayPorts = new Set<number>([67]);
  private readonly tcpForwards: TcpHostForward[] = [];
  private readonly udpForwards: UdpHostForward[] = [];
  private readonly limits: UserNetLimits;
  private cancelSweep: () => void = () => {};
  private open = true;

  /**
   * Builds the network and starts its host-forward listeners.
   * @throws HvError BAD_OPTION for bad options or a host port that cannot be listened on
   */
  static async open(options: UserNetBackendOptions = {}): Promise<UserNetBackend> {
    const b = new UserNetBackend(options);
    try {
      await b.startForwards();
    } catch (e) {
      await b.close();
      throw e;
    }
    return b;
  }

  private constructor(options: UserNetBackendOptions) {
    const net = typeof options.net === 'string' ? parseUserNetOptions(options.net) : options.net ?? DEFAULT_USER_NET;
    const mtu = options.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 576 || mtu > MAX_MTU) throw new HvError('BAD_OPTION', `--net user: MTU ${mtu} is outside 576..${MAX_MTU} (the user network's frames must fit one ${MBUF_SIZE}-byte packet buffer)`);
    this.net = net;
    this.limits = { ...DEFAULT_USER_NET_LIMITS, ...options.limits };
    this.description = ['user', ...net.hostForwards.map(describeForward)].join(',');
    const clock = new HostClock();
    this.stack = new NetStack({
      clock, timers: clock, entropy: hostEntropy(), netChannels: false,
      memory: { byteLength: GATEWAY_MEMORY, mbufCount: 4096 },
      tcp: { minRtoMs: 200, mslMs: GATEWAY_MSL_MS, synRetries: 4 },
    });
    const mac = Uint8Array.of(0x52, 0x55, net.gateway >>> 24, (net.gateway >>> 16) & 0xff, (net.gateway >>> 8) & 0xff, net.gateway & 0xff);
    this.link = new GatewayLink(mac, mtu, (b, o, len) => this.translator.egress(b, o, len));
    this.iface = this.stack.addInterface(this.link, { address: net.gateway, prefixLength: net.prefixLength });
    this.tcpFlows = new NatTable<TcpFlow>(this.limits.tcpFlows);
    this.udpFlows = new NatTable<UdpFlow>(this.limits.udpFlows);
    this.dnsForwarder = new DnsForwarder({ maxPending: this.limits.dnsPending, ...(options.resolver ? { resolver: options.resolver } : {}) });
    const policy = net.restrict ? nothingOutbound : options.policy ?? loopbackOnly;
    const denied = deniedLogger(options.log, net.restrict);
    const common = { stack: this.stack, gateway: net.gateway, dns: net.dns, policy, denied, dnsForwarder: this.dnsForwarder };
    this.tcp = new TcpProxy({ ...common, flows: this.tcpFlows, quarantineMs: 2 * GATEWAY_MSL_MS + SWEEP_MS, replay: (f) => this.receive(f, 0, f.length) });
    this.udp = new UdpProxy({ ...common, flows: this.udpFlows, gatewayPorts: this.gatewayPorts, idleMs: this.limits.udpIdleMs, dnsIdleMs: this.limits.dnsIdleMs });
    const mask = (0xffffffff << (32 - net.prefixLength)) >>> 0;
    this.translator = new NatTranslator(
      { gateway: net.gateway, gatewayMac: mac, dns: net.dns, network: net.network, netmask: mask },
      this.tcpFlows, this.udpFlows, this.tcp, this.udp, (b, o, len) => void this.link.toGuest(b, o, len),
    );
    const lastLease = Math.min(net.dhcpStart + 15, ((net.network | ~mask) >>> 0) - 1); // QEMU hands out 16 addresses
    this.dhcp = new DhcpServer(this.stack, this.iface, { rangeStart: net.dhcpStart, rangeEnd: lastLease, router: net.gateway, dnsServers: [net.dns] });
    this.dhcp.start();
    this.armSweep();
  }

  get linkUp(): boolean {
    return this.open;
  }

  /** Never congested: frames from the guest are handled as they come. */
  get congested(): boolean {
    return false;
  }

  attach(events: NetBackendEvents): void {
    this.link.attach(events);
  }

  send(frame: Uint8Array, offset: number, length: number): boolean {
    if (!this.open) {
      this.dropped++;
      return false;
    }
    this.receive(frame, offset, length);
    return true;
  }

  flush(): void {}

  pause(): void {
    this.link.pause();
  }

  resume(): void {
    this.link.resume();
  }

  /** The host-forward rules as listening. */
  forwards(): ForwardInfo[] {
    return [...this.tcpForwards, ...this.udpForwards].map((f) => ({ ...f.rule, boundPort: f.port }));
  }

  /** What the backend holds now. */
  resources(): UserNetResources {
    let forwarded = 0;
    for (const f of this.tcpForwards) forwarded += f.connections;
    for (const f of this.udpForwards) forwarded += f.sessionCount;
    return {
      tcpFlows: this.tcpFlows.live, tcpFlowsHeld: this.tcpFlows.held, udpFlows: this.udpFlows.live,
      hostSockets: this.tcp.hostSockets + this.udp.hostSockets, dnsPending: this.dnsForwarder.pending, forwarded,
      heldFrames: this.link.heldFrames, stack: this.stack.resources(),
    };
  }

  /** Resets every connection, closes every host socket and listener. */
  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.cancelSweep();
    this.dhcp.stop();
    this.tcp.close();
    this.udp.close();
    await Promise.all([...this.tcpForwards, ...this.udpForwards].map((f) => f.close()));
  }

  /** A frame from the guest (or a held SYN replayed): copied into the gateway stack's packet memory, translated, input. */
  private receive(frame: Uint8Array, offset: number, length: number): void {
    const pool = this.stack.pool;
    if (length > MBUF_SIZE - RX_HEADROOM || offset < 0 || offset + length > frame.length) {
      this.dropped++;
      return;
    }
    const m = pool.alloc(RX_HEADROOM);
    if (m < 0) {
      this.dropped++;
      return;
    }
    const o = pool.off(m);
    pool.bytes.set(frame.subarray(offset, offset + length), o);
    pool.setData(m, o, length);
    if (this.translator.ingress(pool.bytes, o, length) === NAT_CONSUMED) pool.free(m);
    else this.iface.inputMbuf(m);
  }

  private async startForwards(): Promise<void> {
    for (const rule of this.net.hostForwards) {
      if (rule.protocol === 'tcp') this.tcpForwards.push(await TcpHostForward.listen(this.stack, rule));
      else this.udpForwards.push(await UdpHostForward.bind(this.stack, rule, this.net.gateway, this.gatewayPorts, this.limits.hostfwdUdpIdleMs));
    }
  }

  private armSweep(): void {
    this.cancelSweep = this.stack.schedule(SWEEP_MS, () => {
      const now = this.stack.now();
      this.tcpFlows.sweep(now);
      this.tcp.sweep(now);
      this.udp.sweep(now);
      for (const f of this.udpForwards) f.sweep(now);
      if (this.open) this.armSweep();
    });
  }
}

/** Most distinct host addresses whose refusal is logged (a guest scanning the Internet must not flood the log). */
const DENIED_LOGGED = 16;

/** Logs the first refusal of each host address by the outbound policy, once. */
function deniedLogger(log: ((message: string) => void) | undefined, restrict: boolean): (hostAddress: string, port: number, protocol: 'tcp' | 'udp') => void {
  const seen = new Set<string>();
  return (hostAddress, port, protocol) => {
    if (log === undefined || seen.has(hostAddress) || seen.size >= DENIED_LOGGED) return;
    seen.add(hostAddress);
    const why = restrict ? 'restrict=on' : 'the outbound policy (by default only the host\'s 127.0.0.0/8, reached as the gateway address)';
    log(`user net: the guest's ${protocol} to ${hostAddress}:${port} was refused by ${why}`);
  };
}

/** A hostfwd rule as `--net` spells it. */
function describeForward(f: HostForward): string {
  return `hostfwd=${f.protocol}:${f.hostAddress}:${f.hostPort}-${formatIPv4(f.guestAddress)}:${f.guestPort}`;
}
