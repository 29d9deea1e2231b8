/**
 * A complete TCP/IP stack: the object the kernel wraps (sockets, interfaces,
 * the net-channel switch, packet hooks) and the hv's user-mode network reuses.
 *
 * Layers, bottom up: links and interfaces (netif, arpCache) → IPv4 (ipInput,
 * ipOutput, reassembly) → ICMP, UDP, TCP (internal/tcp) → net channels → sockets
 * (tcpSocket, udpSocket, poller). Everything runs on the thread that calls it;
 * the stack defers re-entrant work itself (see internal/stackCore.ts).
 */
import { toIPv4 } from './address.js';
import type { Clock, TimerService } from './clock.js';
import type { Entropy } from './entropy.js';
import { NetError } from './errors.js';
import type { Link } from './link.js';
import { MBUF_HEADROOM, MBUF_SIZE, MbufPool, type MbufPoolOptions } from './mbufPool.js';
import { NetInterface, type InterfaceConfig } from './netInterface.js';
import { newNetStats, type NetStats } from './netStats.js';
import type { HookPoint, PacketHook } from './packetHooks.js';
import { Poller } from './poller.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig } from './tcpConfig.js';
import { TcpSocket } from './tcpSocket.js';
import { UdpSocket } from './udpSocket.js';
import { DEFAULT_ARP_CONFIG, type ArpConfig } from './internal/arpCache.js';
import { HookRunner } from './internal/hookRunner.js';
import { IcmpLayer } from './internal/icmpLayer.js';
import { IpInput } from './internal/ipInput.js';
import { IpOutput } from './internal/ipOutput.js';
import { Netif, TSO_SCRATCH_BYTES } from './internal/netif.js';
import { DEFAULT_REASSEMBLY_CONFIG, Reassembly, type ReassemblyConfig } from './internal/reassembly.js';
import { SocketContext } from './internal/socketContext.js';
import { StackCore } from './internal/stackCore.js';
import { TcpLayer } from './internal/tcp/tcpLayer.js';
import { UdpLayer } from './internal/udpLayer.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from './internal/wire/ipv4.js';

/** Largest link MTU: a frame plus the transmit headroom must fit one mbuf. */
const MAX_LINK_MTU = MBUF_SIZE - MBUF_HEADROOM - 14;

/** How to build a stack. */
export interface NetStackOptions {
  /** Monotonic milliseconds. */
  readonly clock: Clock;
  /** One-shot timers on the same clock. */
  readonly timers: TimerService;
  /** Randomness for sequence numbers, ports and ids (the kernel passes virtio-rng). */
  readonly entropy: Entropy;
  /** Packet memory; default a pool built from `memory`. */
  readonly pool?: MbufPool;
  /** Options for the default pool (ignored when `pool` is given). */
  readonly memory?: MbufPoolOptions;
  /** Net channels on (default) or off. */
  readonly netChannels?: boolean;
  /** TCP tunables over DEFAULT_TCP_CONFIG. */
  readonly tcp?: Partial<TcpConfig>;
  /** ARP tunables. */
  readonly arp?: Partial<ArpConfig>;
  /** Reassembly limits. */
  readonly reassembly?: Partial<ReassemblyConfig>;
}

/** What the stack holds right now: the leak counters tests check. */
export interface NetResources {
  /** mbufs allocated (held by queues, channels, ARP, reassembly, sockets). */
  mbufsInUse: number;
  /** Socket-buffer arena bytes in use, excluding the stack's own scratch areas. */
  arenaBytesInUse: number;
  /** TCP connections and listeners not yet CLOSED (TIME-WAIT included). */
  connections: number;
  /** Sockets created and not closed. */
  sockets: number;
  /** UDP ports bound. */
  udpBindings: number;
  /** Packets held waiting for ARP. */
  arpHeld: number;
  /** Fragments held for reassembly. */
  fragmentsHeld: number;
  /** Timers armed in the stack's heap. */
  timersArmed: number;
}

/** Options of NetStack.ping. */
export interface PingOptions {
  /** Give up after this long, ms (default 1000). */
  readonly timeoutMs?: number;
  /** Payload bytes (default 56, as ping(8)). */
  readonly size?: number;
}

/** One TCP/IP stack. */
export class NetStack {
  /** Packet memory and its leak counter. */
  readonly pool: MbufPool;
  /** Counters. */
  readonly stats: NetStats;
  /** The loopback interface (127.0.0.1/8). */
  readonly loopback: NetInterface;
  private readonly core: StackCore;
  private readonly ifaces: Netif[] = [];
  private readonly faces: NetInterface[] = [];
  private readonly ipOut: IpOutput;
  private readonly ipIn: IpInput;
  private readonly reasm: Reassembly;
  private readonly icmp: IcmpLayer;
  private readonly udp: UdpLayer;
  private readonly tcp: TcpLayer;
  private readonly hookRunner: HookRunner;
  private readonly sockets: SocketContext;
  private readonly arpConfig: ArpConfig;
  /** Arena bytes the stack's own scratch areas take (not socket buffers). */
  private reserved: number;
  private readonly pings = new Map<number, (rtt: number) => void>();
  private pingId: number;
  private pingSeq = 0;

  /** Builds the stack. Throws NetError ENOMEM when the pool's arena cannot hold the stack's scratch areas. */
  constructor(options: NetStackOptions) {
    this.pool = options.pool ?? new MbufPool(options.memory);
    this.stats = newNetStats();
    this.core = new StackCore(this.pool, options.clock, options.timers, options.entropy, this.stats);
    const tcpConfig: TcpConfig = { ...DEFAULT_TCP_CONFIG, ...options.tcp };
    this.arpConfig = { ...DEFAULT_ARP_CONFIG, ...options.arp };
    const arena = this.pool.arena;
    const before = arena.bytesInUse;
    const reasmScratch = arena.alloc(65536);
    const udpScratch = arena.alloc(65536);
    if (reasmScratch < 0 || udpScratch < 0) throw new NetError('ENOMEM', 'NetStack: packet memory too small for the stack (give the pool more bytes)');
    this.reserved = arena.bytesInUse - before;
    this.ipOut = new IpOutput(this.core, this.ifaces);
    this.reasm = new Reassembly(this.core, { ...DEFAULT_REASSEMBLY_CONFIG, ...options.reassembly }, reasmScratch);
    this.ipIn = new IpInput(this.core, this.ipOut, this.reasm);
    this.icmp = new IcmpLayer(this.core, this.ipOut);
    this.udp = new UdpLayer(this.core, this.ipOut, this.icmp, udpScratch);
    this.tcp = new TcpLayer(this.core, tcpConfig, this.ipOut, options.netChannels ?? true);
    this.ipIn.register(IPPROTO_ICMP, this.icmp);
    this.ipIn.register(IPPROTO_UDP, this.udp);
    this.ipIn.register(IPPROTO_TCP, this.tcp);
    this.ipIn.unknownProtocol = (_nif, ipOff) => this.icmp.protocolUnreachable(ipOff);
    this.icmp.errors = {
      icmpError: (proto, errno, hard, src, sport, dst, dport, seq) => {
        if (proto === IPPROTO_TCP) this.tcp.icmpError(errno, hard, src, sport, dst, dport, seq);
        else this.udp.ctlInput(errno, src, sport, dst, dport);
      },
    };
    this.icmp.onEchoReply = (_src, id, seq) => {
      if (id !== this.pingId) return;
      this.pings.get(seq)?.(this.core.now());
    };
    this.pingId = options.entropy.random32() & 0xffff;
    this.hookRunner = new HookRunner(this.core, this.ipOut, (nif) => this.faces[nif.index]!);
    this.sockets = new SocketContext(this.core, this.tcp, this.udp, this.ipOut);
    const lo = this.attach(null, 'lo');
    lo.address = 0x7f000001;
    lo.netmask = 0xff000000;
    this.loopback = this.faces[0]!;
  }

  /** Interfaces, loopback first. */
  get interfaces(): readonly NetInterface[] {
    return this.faces;
  }

  /**
   * Attaches a link as the next interface (eth0, eth1...), optionally
   * configured; the stack becomes the link's receiver. Throws NetError EINVAL
   * for a bad configuration.
   */
  addInterface(link: Link, config?: InterfaceConfig): NetInterface {
    if (link.mac.length !== 6) throw new NetError('EINVAL', 'addInterface: a link MAC address has 6 bytes');
    if (!(link.mtu >= 576 && link.mtu <= MAX_LINK_MTU)) {
      throw new NetError('EINVAL', `addInterface: MTU ${link.mtu} outside 576..${MAX_LINK_MTU} (a frame must fit one ${MBUF_SIZE}-byte mbuf; jumbo frames are not supported)`);
    }
    if ((link.tsoMaxBytes ?? 0) > 0) this.reserveTsoScratch();
    const nif = this.attach(link, `eth${this.ifaces.length - 1}`);
    const face = this.faces[nif.index]!;
    if (config !== undefined) face.configure(config);
    return face;
  }

  /** A new TCP socket. */
  tcpSocket(): TcpSocket {
    return new TcpSocket(this.sockets);
  }

  /** A new UDP socket. */
  udpSocket(): UdpSocket {
    return new UdpSocket(this.sockets);
  }

  /** A new epoll-style poller. */
  poller<T = unknown>(): Poller<T> {
    return new Poller<T>(this.core);
  }

  /** The net-channel switch: true while established flows are classified onto their sockets' channels. */
  get netChannels(): boolean {
    return this.tcp.channelsOn;
  }

  set netChannels(on: boolean) {
    this.core.enter();
    try {
      this.tcp.setChannels(on);
    } finally {
      this.core.leave();
    }
  }

  /** Adds a packet hook at 'link' (raw frames) or 'ip' (validated datagrams). Returns a function that removes it. */
  addHook(point: HookPoint, hook: PacketHook): () => void {
    const list = point === 'link' ? this.hookRunner.link : this.hookRunner.inet;
    list.push(hook);
    this.syncHooks();
    return () => {
      const i = list.indexOf(hook);
      if (i >= 0) list.splice(i, 1);
      this.syncHooks();
    };
  }

  /**
   * Sends an ICMP echo request and resolves with the round-trip time, ms.
   * Throws NetError ETIMEDOUT without a reply, ENETUNREACH without a route.
   */
  ping(address: number | string, options: PingOptions = {}): Promise<number> {
    const dst = toIPv4(address);
    const seq = (this.pingSeq = (this.pingSeq + 1) & 0xffff);
    const payload = new Uint8Array(options.size ?? 56);
    for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
    const start = this.core.now();
    return new Promise((resolve, reject) => {
      const timers = this.core.timers;
      const t = timers.timer(() => {
        this.pings.delete(seq);
        reject(new NetError('ETIMEDOUT', `ping ${address}: no reply`));
      });
      this.pings.set(seq, (now) => {
        timers.cancel(t);
        this.pings.delete(seq);
        resolve(now - start);
      });
      timers.armIn(t, options.timeoutMs ?? 1000);
      this.core.enter();
      let r: number;
      try {
        r = this.icmp.sendEcho(dst, this.pingId, seq, payload);
      } finally {
        this.core.leave();
      }
      if (r < 0) {
        timers.cancel(t);
        this.pings.delete(seq);
        reject(NetError.fromErrno(r, `ping ${address}`));
      }
    });
  }

  /**
   * Runs `fn` once after `delayMs` on the stack's clock, as a stack entry point
   * (DHCP and DNS use it for their retransmissions). Returns a function that cancels it.
   */
  schedule(delayMs: number, fn: () => void): () => void {
    const timers = this.core.timers;
    const t = timers.timer(fn);
    timers.armIn(t, delayMs);
    return () => timers.cancel(t);
  }

  /** Milliseconds on the stack's clock. */
  now(): number {
    return this.core.now();
  }

  /** A uniformly random 32-bit number from the stack's entropy source (transaction and query ids). */
  random32(): number {
    return this.core.entropy.random32();
  }

  /** @internal The interface object behind a public NetInterface (DHCP binds its socket to it). */
  netif(face: NetInterface): Netif {
    return face.nif;
  }

  /** The leak counters. */
  resources(): NetResources {
    let arpHeld = 0;
    for (const n of this.ifaces) arpHeld += n.arp?.heldPackets ?? 0;
    return {
      mbufsInUse: this.pool.inUse,
      arenaBytesInUse: this.pool.arena.bytesInUse - this.reserved,
      connections: this.tcp.sh.live,
      sockets: this.sockets.open,
      udpBindings: this.udp.endpoints,
      arpHeld,
      fragmentsHeld: this.reasm.heldFragments,
      timersArmed: this.core.timers.size,
    };
  }

  /**
   * Reserves the region TCP builds super-segments in, once, when the first
   * link with segmentation offload attaches (stacks that never see one do
   * not pay 64 KiB for it). When the arena cannot spare it, TCP sends
   * ordinary segments over every link: the offload is an optimisation.
   */
  private reserveTsoScratch(): void {
    if (this.core.tsoScratch >= 0) return;
    const arena = this.pool.arena;
    const before = arena.bytesInUse;
    const at = arena.alloc(TSO_SCRATCH_BYTES);
    if (at < 0) return;
    this.core.tsoScratch = at;
    this.reserved += arena.bytesInUse - before;
  }

  private attach(link: Link | null, name: string): Netif {
    const nif = new Netif(this.core, this.ifaces.length, name, link, this.arpConfig);
    nif.ipInput = (n, m) => this.ipIn.input(n, m);
    nif.onUnreachable = (ip) => this.tcp.unreachable(ip);
    nif.linkHook = this.hookRunner.link.length > 0 ? (n, m) => this.hookRunner.runLink(n, m) : null;
    this.ifaces.push(nif);
    this.faces.push(new NetInterface(nif));
    return nif;
  }

  private syncHooks(): void {
    const r = this.hookRunner;
    this.ipIn.hook = r.inet.length > 0 ? (n, m, o, hl, len) => r.runInet(n, m, o, hl, len) : null;
    for (const n of this.ifaces) n.linkHook = r.link.length > 0 ? (x, m) => r.runLink(x, m) : null;
  }
}
