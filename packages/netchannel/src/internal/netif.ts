/**
 * The stack's side of one interface: Ethernet input and output over a Link
 * (RFC 894 framing, ARP resolution), or the loopback interface, which skips
 * Ethernet and delivers through the stack's backlog. Owned by the stack's thread.
 */
import type { Link, LinkReceiver } from '../link.js';
import { ArpCache, type ArpConfig, type ArpHost } from './arpCache.js';
import type { FrameSink, StackCore } from './stackCore.js';
import { get16 } from './wire/bytes.js';
import { ETH_DST, ETH_SRC, ETH_TYPE, ETHER_ADDR_LEN, ETHER_HDR_LEN, ETHERTYPE_ARP, ETHERTYPE_IP } from './wire/ethernet.js';
import { INADDR_BROADCAST, IP_LEN, IP_P, IP_VHL } from './wire/ipv4.js';
import { TH_SUM } from './wire/tcp.js';
import { checksumFieldOffset, completeChecksum } from './txChecksum.js';

/** Headroom of received frames, bytes. */
const NET_IP_ALIGN = 2;

/**
 * Bytes of the stack's TCP segmentation offload scratch (StackCore.tsoScratch),
 * and so the largest super-segment frame it builds: 64 KiB, an arena block,
 * like virtio-net's 64 KiB GSO frames.
 */
export const TSO_SCRATCH_BYTES = 65536;

/** An interface: its addresses, its link (or loopback), and the hooks the stack plugs in. */
export class Netif implements LinkReceiver, FrameSink, ArpHost {
  readonly core: StackCore;
  readonly index: number;
  readonly name: string;
  readonly link: Link | null;
  readonly mac: Uint8Array;
  readonly mtu: number;
  /**
   * Frames shorter than this are zero-padded to it: the link's
   * minFrameLength, else 0 (no padding). Padding every short frame to 60 bytes
   * broke passt before 2023-08 (bugs.passt.top #73: it dropped any IPv4 frame
   * whose length was not exactly the IP total length), i.e. every pure ACK.
   */
  readonly minFrame: number;
  readonly arp: ArpCache | null;
  /** IPv4 address, 0 while unconfigured. */
  address = 0;
  netmask = 0;
  gateway = 0;
  /** IP input: the data window of `m` starts at the IP header; the callee owns `m`. Set by the stack. */
  ipInput: (nif: Netif, m: number) => void = (_n, m) => this.core.pool.freeChain(m);
  /** Raw-frame packet hook: returns true when a hook consumed the frame (the callee then freed nothing; we free). */
  linkHook: ((nif: Netif, m: number) => boolean) | null = null;
  /** Called when ARP gives up on an address. Set by the stack. */
  onUnreachable: (ip: number) => void = () => {};

  constructor(core: StackCore, index: number, name: string, link: Link | null, arpConfig: ArpConfig, mtu?: number) {
    this.core = core;
    this.index = index;
    this.name = name;
    this.link = link;
    this.mac = link ? link.mac : new Uint8Array(ETHER_ADDR_LEN);
    this.mtu = mtu ?? (link ? link.mtu : 1500);
    // At most a minimum Ethernet frame: the padding goes into the mbuf's tailroom.
    this.minFrame = Math.max(0, Math.min(link?.minFrameLength ?? 0, 64));
    this.arp = link ? new ArpCache(core, this, arpConfig) : null;
    if (link?.txChecksumOffload === true && link.transmitOffload !== undefined) core.txCsumPartial = true;
    link?.setReceiver(this);
  }

  /** The subnet's broadcast address, or 255.255.255.255 when unconfigured. */
  get broadcast(): number {
    return this.address === 0 ? INADDR_BROADCAST : ((this.address & this.netmask) | ~this.netmask) >>> 0;
  }

  /** True when `addr` is on this interface's subnet. */
  onLink(addr: number): boolean {
    return this.address !== 0 && ((addr ^ this.address) & this.netmask) === 0;
  }

  /** LinkReceiver: copies the frame into an mbuf and hands it to the stack. */
  receiveFrame(frame: Uint8Array, offset: number, length: number): void {
    const stats = this.core.stats;
    if (length < ETHER_HDR_LEN || length > this.mtu + ETHER_HDR_LEN || offset < 0 || offset + length > frame.length) {
      stats.framesDropped++;
      return;
    }
    const pool = this.core.pool;
    // Two bytes of headroom put the IP header, and so the transport header, on a 4-byte boundary (Linux's NET_IP_ALIGN).
    const m = pool.alloc(NET_IP_ALIGN);
    if (m < 0) {
      stats.noMbufs++;
      return;
    }
    const o = pool.off(m);
    pool.bytes.set(frame.subarray(offset, offset + length), o);
    pool.setData(m, o, length);
    this.core.input(this, m);
  }

  /** Zero-copy input for drivers that received straight into an mbuf of the stack's pool. */
  inputMbuf(m: number): void {
    this.core.input(this, m);
  }

  /** FrameSink: Ethernet demultiplexing (or straight to IP on loopback). Owns `m`. */
  processFrame(m: number): void {
    const core = this.core;
    core.stats.framesIn++;
    if (this.link === null) {
      this.ipInput(this, m);
      return;
    }
    const pool = core.pool;
    const b = pool.bytes;
    const o = pool.off(m);
    const len = pool.len(m);
    if (len < ETHER_HDR_LEN || !this.acceptsDst(b, o + ETH_DST)) {
      core.stats.framesDropped++;
      pool.freeChain(m);
      return;
    }
    if (this.linkHook !== null && this.linkHook(this, m)) {
      core.stats.hookConsumed++;
      pool.freeChain(m);
      return;
    }
    const type = get16(b, o + ETH_TYPE);
    if (type === ETHERTYPE_IP) {
      pool.setData(m, o + ETHER_HDR_LEN, len - ETHER_HDR_LEN);
      this.ipInput(this, m);
      return;
    }
    if (type === ETHERTYPE_ARP) {
      core.stats.arpIn++;
      if (!this.arp!.input(b, o + ETHER_HDR_LEN, len - ETHER_HDR_LEN)) core.stats.arpBad++;
    } else {
      core.stats.framesDropped++;
    }
    pool.freeChain(m);
  }

  /**
   * Sends IP packet `m` (data window at its IP header) towards `nextHop` and
   * owns it afterwards. Returns 0 (sent, or held for ARP).
   */
  outputIp(m: number, nextHop: number): number {
    if (this.link === null) {
      // Loopback input verifies checksums like any other: finish a partial one.
      const pool = this.core.pool;
      if (pool.csumPartial(m)) completePartial(pool.bytes, pool.off(m));
      this.core.queueFrame(this, m);
      return 0;
    }
    if (nextHop === INADDR_BROADCAST || nextHop === this.broadcast) {
      this.sendHeld(m, BROADCAST_MAC);
      return 0;
    }
    const mac = this.arp!.resolve(nextHop, m);
    if (mac !== null) this.sendHeld(m, mac);
    return 0;
  }

  /** ArpHost: prepends the Ethernet header to IP packet `m` and transmits it. */
  sendHeld(m: number, mac: Uint8Array): void {
    const pool = this.core.pool;
    const b = pool.bytes;
    const o = pool.off(m) - ETHER_HDR_LEN;
    pool.setData(m, o, pool.len(m) + ETHER_HDR_LEN);
    for (let i = 0; i < ETHER_ADDR_LEN; i++) {
      b[o + ETH_DST + i] = mac[i]!;
      b[o + ETH_SRC + i] = this.mac[i]!;
    }
    b[o + ETH_TYPE] = ETHERTYPE_IP >>> 8;
    b[o + ETH_TYPE + 1] = ETHERTYPE_IP & 0xff;
    this.transmitFrame(m);
  }

  /** ArpHost: transmits the complete frame in `m` (padded to the link's minimum, if it has one) and frees it. */
  transmitFrame(m: number): void {
    const pool = this.core.pool;
    const o = pool.off(m);
    let len = pool.len(m);
    if (len < this.minFrame) {
      pool.bytes.fill(0, o + len, o + this.minFrame);
      len = this.minFrame;
    }
    this.core.stats.framesOut++;
    const link = this.link!;
    if (!pool.csumPartial(m)) link.transmit(pool.bytes, o, len);
    else if (link.txChecksumOffload === true && link.transmitOffload !== undefined) {
      const ip = o + ETHER_HDR_LEN;
      const csumStart = ETHER_HDR_LEN + ((pool.bytes[ip + IP_VHL]! & 0x0f) << 2);
      link.transmitOffload(pool.bytes, o, len, csumStart, checksumFieldOffset(pool.bytes[ip + IP_P]!));
    } else {
      completePartial(pool.bytes, o + ETHER_HDR_LEN);
      link.transmit(pool.bytes, o, len);
    }
    pool.freeChain(m);
  }

  /**
   * Largest TCP segmentation offload frame (Ethernet header included) the
   * interface can hand its link now: the link's tsoMaxBytes while it also
   * computes checksums, bounded by the stack's scratch; 0 when it cannot
   * (loopback, a link without the capability or one that lost it, no
   * scratch). Read per super-segment, as txChecksumOffload is per frame.
   */
  get tsoMaxFrame(): number {
    const link = this.link;
    if (link === null || this.core.tsoScratch < 0 || link.txChecksumOffload !== true || link.transmitOffload === undefined) return 0;
    const max = link.tsoMaxBytes ?? 0;
    return max > 0 ? Math.min(max, TSO_SCRATCH_BYTES) : 0;
  }

  /**
   * Sends a TCP super-segment built in `b[o, o+len)` (the Ethernet header
   * is written here; the IPv4 packet follows it, its TCP checksum partial)
   * to `mac`, for the link to cut into segments of `gsoSize` payload bytes.
   * The caller checked `len` against tsoMaxFrame and resolved `mac`. The
   * bytes are the link's only during the call. Returns the link's answer:
   * 0, or a negative errno (-ENOBUFS when its large buffers are all in
   * flight), on which the caller sends the bytes some other way.
   */
  transmitTso(b: Uint8Array, o: number, len: number, mac: Uint8Array, gsoSize: number): number {
    for (let i = 0; i < ETHER_ADDR_LEN; i++) {
      b[o + ETH_DST + i] = mac[i]!;
      b[o + ETH_SRC + i] = this.mac[i]!;
    }
    b[o + ETH_TYPE] = ETHERTYPE_IP >>> 8;
    b[o + ETH_TYPE + 1] = ETHERTYPE_IP & 0xff;
    const csumStart = ETHER_HDR_LEN + ((b[o + ETHER_HDR_LEN + IP_VHL]! & 0x0f) << 2);
    const r = this.link!.transmitOffload!(b, o, len, csumStart, TH_SUM, gsoSize);
    if (r >= 0) this.core.stats.framesOut++;
    return r;
  }

  /** ArpHost: ARP resolution of `ip` failed. */
  unreachable(ip: number): void {
    this.onUnreachable(ip);
  }

  private acceptsDst(b: Uint8Array, d: number): boolean {
    let mine = true;
    let bcast = true;
    for (let i = 0; i < ETHER_ADDR_LEN; i++) {
      const x = b[d + i]!;
      if (x !== this.mac[i]) mine = false;
      if (x !== 0xff) bcast = false;
    }
    return mine || bcast;
  }
}

/** Completes the partial transport checksum of the IPv4 packet at `b[ip...]` (its own header says how long it is). */
function completePartial(b: Uint8Array, ip: number): void {
  const hl = (b[ip + IP_VHL]! & 0x0f) << 2;
  completeChecksum(b, ip + hl, get16(b, ip + IP_LEN) - hl, b[ip + IP_P]!);
}

const BROADCAST_MAC = new Uint8Array(ETHER_ADDR_LEN).fill(0xff);
