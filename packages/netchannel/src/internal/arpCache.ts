/**
 * ARP for IPv4 over Ethernet (RFC 826) with a bounded cache whose entries time
 * out. Resolution holds a few packets per unresolved address and retries the
 * request once a second; an entry that goes unconfirmed is re-requested if it
 * is in use, else forgotten. Owned by the stack's thread.
 *
 * States: INCOMPLETE (request sent, packets held) → REACHABLE (confirmed, for
 * reachableMs) → PROBING (still used while re-requested) → gone.
 */
import type { StackCore } from './stackCore.js';
import type { Timer } from './timerQueue.js';
import { ARP_PACKET, ARPHRD_ETHER, ARPOP_REPLY, ARPOP_REQUEST } from './wire/arp.js';
import { get16, get32, put16, put32 } from './wire/bytes.js';
import { ETH_DST, ETH_SRC, ETH_TYPE, ETHER_ADDR_LEN, ETHER_HDR_LEN, ETHERTYPE_ARP, ETHERTYPE_IP } from './wire/ethernet.js';

/** ARP tunables, ms and counts. */
export interface ArpConfig {
  /** How long a confirmed entry is used without re-asking (BSD keeps 20 min; Linux ~30 s). */
  readonly reachableMs: number;
  /** Interval between requests for an unresolved address. */
  readonly retransmitMs: number;
  /** Requests sent before giving up on an address. */
  readonly maxProbes: number;
  /** Packets held per unresolved address, oldest dropped beyond (Linux holds up to 64 KiB: a fragmented datagram). */
  readonly maxHeld: number;
  /** Most entries; the least recently confirmed is evicted beyond. */
  readonly maxEntries: number;
}

/** Defaults of ArpConfig. */
export const DEFAULT_ARP_CONFIG: ArpConfig = Object.freeze({
  reachableMs: 60_000,
  retransmitMs: 1000,
  maxProbes: 3,
  maxHeld: 64,
  maxEntries: 512,
});

/** What the cache needs from its interface. */
export interface ArpHost {
  readonly mac: Uint8Array;
  /** Our IPv4 address on this interface (0 while unconfigured). */
  readonly address: number;
  /** Sends a complete Ethernet frame held in mbuf `m` and frees it. */
  transmitFrame(m: number): void;
  /** Sends held IP packet `m` (data window at its IP header) to `mac`, and frees it. */
  sendHeld(m: number, mac: Uint8Array): void;
  /** Resolution of `ip` failed (for soft errors on connections). */
  unreachable(ip: number): void;
}

const INCOMPLETE = 0;
const REACHABLE = 1;
const PROBING = 2;

const ARP_OP = ARP_PACKET.op.offset;
const ARP_SHA = ARP_PACKET.sha.offset;
const ARP_SPA = ARP_PACKET.spa.offset;
const ARP_THA = ARP_PACKET.tha.offset;
const ARP_TPA = ARP_PACKET.tpa.offset;

class ArpEntry {
  readonly ip: number;
  readonly mac = new Uint8Array(ETHER_ADDR_LEN);
  state = INCOMPLETE;
  probes = 0;
  used = false;
  readonly held: Int32Array;
  nHeld = 0;
  readonly timer: Timer;

  constructor(ip: number, maxHeld: number, timer: (e: ArpEntry) => Timer) {
    this.ip = ip;
    this.held = new Int32Array(maxHeld);
    this.timer = timer(this);
  }
}

/** The ARP cache of one Ethernet interface. */
export class ArpCache {
  private readonly core: StackCore;
  private readonly host: ArpHost;
  private readonly cfg: ArpConfig;
  private readonly entries = new Map<number, ArpEntry>();

  constructor(core: StackCore, host: ArpHost, cfg: ArpConfig) {
    this.core = core;
    this.host = host;
    this.cfg = cfg;
  }

  /** Number of entries (any state). */
  get size(): number {
    return this.entries.size;
  }

  /** Held packets across all entries (they are mbufs in use). */
  get heldPackets(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.nHeld;
    return n;
  }

  /** The MAC of `ip` if it is known (the caller sends at once); else holds `m`, asks, and returns null. */
  resolve(ip: number, m: number): Uint8Array | null {
    let e = this.entries.get(ip);
    if (e !== undefined && e.state !== INCOMPLETE) {
      e.used = true;
      return e.mac;
    }
    if (e === undefined) {
      e = this.create(ip);
      this.request(ip, null);
      e.probes = 1;
      this.core.timers.armIn(e.timer, this.cfg.retransmitMs);
    }
    this.hold(e, m);
    return null;
  }

  /**
   * The MAC of `ip` if it is known, marking the entry used (the caller sends
   * to it at once, as after resolve()); null, with no side effect, when it is
   * not: for senders that would rather take another path than wait (TCP
   * segmentation offload falls back to ordinary segments).
   */
  known(ip: number): Uint8Array | null {
    const e = this.entries.get(ip);
    if (e === undefined || e.state === INCOMPLETE) return null;
    e.used = true;
    return e.mac;
  }

  /** Looks up without side effects; for tests and diagnostics. */
  lookup(ip: number): Uint8Array | null {
    const e = this.entries.get(ip);
    return e !== undefined && e.state !== INCOMPLETE ? e.mac : null;
  }

  /** Processes an ARP packet at `b[off, off+len)`. Returns false when malformed. Never throws. */
  input(b: Uint8Array, off: number, len: number): boolean {
    if (len < ARP_PACKET.SIZE) return false;
    if (get16(b, off + ARP_PACKET.hrd.offset) !== ARPHRD_ETHER || get16(b, off + ARP_PACKET.pro.offset) !== ETHERTYPE_IP) return false;
    if (b[off + ARP_PACKET.hln.offset] !== ETHER_ADDR_LEN || b[off + ARP_PACKET.pln.offset] !== 4) return false;
    const op = get16(b, off + ARP_OP);
    if (op !== ARPOP_REQUEST && op !== ARPOP_REPLY) return false;
    const spa = get32(b, off + ARP_SPA);
    const tpa = get32(b, off + ARP_TPA);
    const sha = off + ARP_SHA;
    if ((b[sha]! & 1) !== 0) return false; // a multicast sender MAC is never legitimate
    const me = this.host.address;
    if (me === 0 || spa === me) return true; // unconfigured, or someone claims our address: ignore
    // RFC 826 "Packet Reception": update an existing entry; add one if we are the target.
    let e = spa !== 0 ? this.entries.get(spa) : undefined;
    if (e !== undefined) this.confirm(e, b, sha);
    if (tpa !== me) return true;
    if (e === undefined && spa !== 0) {
      e = this.create(spa);
      this.confirm(e, b, sha);
    }
    if (op === ARPOP_REQUEST) this.reply(b, sha, spa);
    return true;
  }

  /** Drops every entry and held packet (interface reconfigured or removed). */
  flush(): void {
    for (const e of this.entries.values()) this.destroy(e);
    this.entries.clear();
  }

  private create(ip: number): ArpEntry {
    if (this.entries.size >= this.cfg.maxEntries) {
      const oldest = this.entries.values().next().value as ArpEntry;
      this.entries.delete(oldest.ip);
      this.destroy(oldest);
    }
    const e = new ArpEntry(ip, this.cfg.maxHeld, (x) => this.core.timers.timer(() => this.expire(x)));
    this.entries.set(ip, e);
    return e;
  }

  private destroy(e: ArpEntry): void {
    this.core.timers.cancel(e.timer);
    for (let i = 0; i < e.nHeld; i++) {
      this.core.pool.freeChain(e.held[i]!);
      this.core.stats.arpDropped++;
    }
    e.nHeld = 0;
  }

  private hold(e: ArpEntry, m: number): void {
    if (e.nHeld === e.held.length) {
      this.core.pool.freeChain(e.held[0]!);
      this.core.stats.arpDropped++;
      e.held.copyWithin(0, 1);
      e.nHeld--;
    }
    e.held[e.nHeld++] = m;
  }

  private confirm(e: ArpEntry, b: Uint8Array, sha: number): void {
    for (let i = 0; i < ETHER_ADDR_LEN; i++) e.mac[i] = b[sha + i]!;
    e.state = REACHABLE;
    e.probes = 0;
    e.used = false;
    // Re-insert so Map order is least recently confirmed first (eviction order).
    this.entries.delete(e.ip);
    this.entries.set(e.ip, e);
    this.core.timers.armIn(e.timer, this.cfg.reachableMs);
    const n = e.nHeld;
    e.nHeld = 0;
    for (let i = 0; i < n; i++) this.host.sendHeld(e.held[i]!, e.mac);
  }

  private expire(e: ArpEntry): void {
    if (e.state === REACHABLE && !e.used) {
      this.entries.delete(e.ip);
      return;
    }
    if (e.probes >= this.cfg.maxProbes) {
      this.entries.delete(e.ip);
      this.destroy(e);
      this.host.unreachable(e.ip);
      return;
    }
    if (e.state === REACHABLE) e.state = PROBING;
    e.probes++;
    // Re-validate a known neighbour by unicast (RFC 1122 §2.3.2.1), else broadcast.
    this.request(e.ip, e.state === PROBING ? e.mac : null);
    this.core.timers.armIn(e.timer, this.cfg.retransmitMs);
  }

  private request(ip: number, unicastTo: Uint8Array | null): void {
    const m = this.frame();
    if (m < 0) return;
    const b = this.core.pool.bytes;
    const o = this.core.pool.off(m);
    for (let i = 0; i < ETHER_ADDR_LEN; i++) b[o + ETH_DST + i] = unicastTo ? unicastTo[i]! : 0xff;
    const a = o + ETHER_HDR_LEN;
    put16(b, a + ARP_OP, ARPOP_REQUEST);
    for (let i = 0; i < ETHER_ADDR_LEN; i++) b[a + ARP_THA + i] = 0;
    put32(b, a + ARP_TPA, ip);
    this.host.transmitFrame(m);
  }

  private reply(rb: Uint8Array, sha: number, spa: number): void {
    const m = this.frame();
    if (m < 0) return;
    const b = this.core.pool.bytes;
    const o = this.core.pool.off(m);
    const a = o + ETHER_HDR_LEN;
    for (let i = 0; i < ETHER_ADDR_LEN; i++) {
      b[o + ETH_DST + i] = rb[sha + i]!;
      b[a + ARP_THA + i] = rb[sha + i]!;
    }
    put16(b, a + ARP_OP, ARPOP_REPLY);
    put32(b, a + ARP_TPA, spa);
    this.host.transmitFrame(m);
  }

  /** An mbuf holding an Ethernet+ARP frame from us, with op, target and destination left to fill. */
  private frame(): number {
    const pool = this.core.pool;
    const m = pool.alloc();
    if (m < 0) {
      this.core.stats.noMbufs++;
      return -1;
    }
    const b = pool.bytes;
    const o = pool.off(m);
    pool.setData(m, o, ETHER_HDR_LEN + ARP_PACKET.SIZE);
    const mac = this.host.mac;
    for (let i = 0; i < ETHER_ADDR_LEN; i++) {
      b[o + ETH_SRC + i] = mac[i]!;
      b[o + ETHER_HDR_LEN + ARP_SHA + i] = mac[i]!;
    }
    put16(b, o + ETH_TYPE, ETHERTYPE_ARP);
    const a = o + ETHER_HDR_LEN;
    put16(b, a + ARP_PACKET.hrd.offset, ARPHRD_ETHER);
    put16(b, a + ARP_PACKET.pro.offset, ETHERTYPE_IP);
    b[a + ARP_PACKET.hln.offset] = ETHER_ADDR_LEN;
    b[a + ARP_PACKET.pln.offset] = 4;
    put32(b, a + ARP_SPA, this.host.address);
    this.core.stats.arpOut++;
    return m;
  }
}
