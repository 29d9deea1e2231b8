/**
 * The virtio-net driver (virtio-v1.2 section 5.1) at the frame level: MAC,
 * MTU and link status from the configuration space, one receive and one
 * transmit queue, transmit checksum offload when the device offers
 * VIRTIO_NET_F_CSUM, TCP segmentation offload when it also offers
 * VIRTIO_NET_F_HOST_TSO4, and mergeable receive
 * buffers when the device offers VIRTIO_NET_F_MRG_RXBUF. Every frame is a
 * 12-byte virtio_net_hdr and the Ethernet frame: in one buffer on transmit,
 * in one or (MRG_RXBUF) several on receive.
 *
 * Receive: RX_BUFFERS slots stay posted; the slot number is the ring token.
 * A slot holds either a driver buffer (from the DMA allocator, posted until
 * the network stack arrives and for programs that use the device directly)
 * or, once setMbufReceiver installed the stack's pool (which resets the
 * device once, so that every slot gets an mbuf at once), an mbuf of it: the
 * device writes header and frame into the mbuf, the driver sets its data
 * window past the header and hands the mbuf itself to the stack (zero-copy),
 * then posts a fresh mbuf in the slot. When the pool is empty the slot stays
 * empty; busy() and deadline() keep the poller coming back to refill it.
 * Mergeable receive buffers (VIRTIO_NET_F_MRG_RXBUF, negotiated when
 * offered; 5.1.6.3, 5.1.6.4): the first buffer's header says how many
 * buffers (num_buffers) the frame spans; the driver copies the following
 * buffers' bytes behind the first buffer's (every slot's storage holds a
 * whole frame; only the length posted may be smaller, `rxBufferBytes`),
 * gives them straight back to the ring, and hands the frame on from the
 * first buffer — in its mbuf, so netchannel still gets one frame per mbuf,
 * counted as merged rather than zeroCopy. A frame in one buffer takes
 * exactly the path it took before. When the used ring runs dry mid-frame the
 * first buffer waits for the rest; a num_buffers of 0 or more than the ring
 * holds, or a frame longer than a slot, is dropped (counted) and the buffers
 * it named go back to the ring.
 * Frames are taken off the used ring only when someone wants them — the
 * stack, a receiver (in place), or a receive() waiter (a copy) — so frames
 * nobody asked for wait in the ring (and, when it is full, in the device).
 * Transmit: a frame is copied into a free transmit buffer and the device is
 * kicked at once; completed buffers are reclaimed on the next transmit, so
 * the transmit queue needs no interrupts. With HOST_TSO4 a TCP/IPv4
 * super-segment of up to 64 KiB (transmitOffload with a gsoSize) goes into
 * one of TSO_BUFFERS large buffers, allocated only then, with gso_type
 * GSO_TCPV4, gso_size and hdr_len in its header (5.1.6.2); the device cuts
 * it into MTU-sized segments. The transmit ring has room for every buffer
 * of both kinds at once, so only running out of buffers gives -ENOBUFS.
 */
import {
  VIRTIO_F_EVENT_IDX,
  VIRTIO_MMIO_INT_CONFIG,
  VIRTIO_NET_CONFIG_LAYOUT as CFG,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_HOST_TSO4,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_LAYOUT as HDR,
  VIRTIO_NET_RECEIVEQ,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_NET_TRANSMITQ,
  featureBit,
} from '@osv-ts/virtio';
import { VIRTQ_NONE, type DmaAllocator, type VirtioMmioDriver, type VirtqueueDriver } from '@osv-ts/virtio/driver';
import { KernelError } from '../errors.js';
import type { IoSource, IoWait } from './ioWait.js';
import { NET_ERRNO, type MbufReceiver, type NetDevice, type NetReceiver, type NetRxStats, type RxMbufPool } from './netDevice.js';

/** Ethernet header bytes. */
const ETH_HLEN = 14;
/** Room for one 802.1Q tag. */
const VLAN_HLEN = 4;
/** The MTU assumed when the device does not report one. */
const DEFAULT_MTU = 1500;
/** Largest MTU the driver sizes buffers for. */
const MAX_MTU = 9000;
/** Receive and transmit buffers. */
const RX_BUFFERS = 128;
const TX_BUFFERS = 64;
/**
 * Large transmit buffers for TCP segmentation offload (HOST_TSO4): 16 of
 * 64 KiB, about 1 MiB of guest memory, taken only when TSO is negotiated.
 * A stack whose super-segment finds them all in flight gets -ENOBUFS and
 * sends the same bytes as ordinary segments (netchannel does).
 */
const TSO_BUFFERS = 16;
/** Largest GSO frame: an Ethernet header and the largest IPv4 datagram (the device's limit too). */
const TSO_FRAME_MAX = ETH_HLEN + 65535;
/** Bytes of one large buffer: header and frame, rounded to a cache line. */
const TSO_BUF_BYTES = Math.ceil((HDR.SIZE + TSO_FRAME_MAX) / 64) * 64;
/** Transmit queue size: a power of two with room for every buffer of both kinds in flight at once. */
const TX_QUEUE_SIZE = 128;
/** Bytes of a TCP header before its data-offset byte (RFC 9293 §3.1). */
const TH_OFF = 12;
/**
 * Where the virtio header starts in a posted mbuf: two bytes in, so the IP
 * header lands on a 4-byte boundary (Linux's NET_IP_ALIGN), as on the copy path.
 */
const NET_IP_ALIGN = 2;
/** How soon the poller comes back to refill empty receive slots, ns. */
const REFILL_RETRY_NS = 1e6;
/** No mbuf in the slot (a driver buffer, or nothing). */
const NO_MBUF = -1;
/** nextFrame(): the used ring holds no whole frame now (part of one may be gathered). */
const RX_NONE = -1;
/** nextFrame(): the receive ring broke; restart the device. */
const RX_BROKEN = -2;

/** Options of the virtio-net driver. */
export interface VirtioNetOptions {
  /**
   * Bytes posted per receive buffer when VIRTIO_NET_F_MRG_RXBUF is
   * negotiated (at least the 12-byte header, 5.1.6.3.1; capped at what a
   * slot's storage holds, which is also the default: one buffer per frame).
   * Smaller buffers make frames span several (for tests, and to compare).
   * Without MRG_RXBUF every buffer must hold a whole frame and this is ignored.
   */
  readonly rxBufferBytes?: number;
}

interface Waiter {
  readonly resolve: (frame: Uint8Array | null) => void;
  readonly deadline: number;
}

/** A virtio-net interface. */
export class VirtioNet implements NetDevice, IoSource {
  readonly name: string;
  readonly irq: number;
  readonly mac = new Uint8Array(6);
  mtu = DEFAULT_MTU;
  linkUp = false;
  /** VIRTIO_NET_F_CSUM was negotiated. */
  txChecksumOffload = false;
  /** VIRTIO_NET_F_HOST_TSO4 was negotiated (with CSUM, which it depends on). */
  private txTso = false;
  readonly rxStats: NetRxStats = { zeroCopy: 0, merged: 0, copied: 0, dropped: 0, refillFailures: 0 };
  /** VIRTIO_NET_F_MRG_RXBUF was negotiated: a frame may span several receive buffers. */
  rxMergeable = false;
  private readonly mem: Uint8Array;
  private readonly rx: VirtqueueDriver;
  private readonly tx: VirtqueueDriver;
  private readonly bufBytes: number;
  private readonly rxAddr: number;
  private readonly txAddr: number;
  private readonly txFree: number[] = [];
  /** Guest-physical address of the TSO_BUFFERS large transmit buffers, or -1 (TSO not negotiated at probe). Ring token TX_BUFFERS + j. */
  private readonly tsoAddr: number;
  private readonly tsoFree: number[] = [];
  private readonly waiters: Waiter[] = [];
  private receiver: NetReceiver | null = null;
  /** The stack's zero-copy input, or null. */
  private mbufInput: MbufReceiver | null = null;
  /** The pool whose mbufs are posted (stays set while any are, after mbufInput is removed). */
  private mbufPool: RxMbufPool | null = null;
  private mbufsPosted = 0;
  /** Per receive slot: guest-physical address of the posted buffer, and its mbuf (NO_MBUF for a driver buffer). */
  private readonly slotAddr = new Float64Array(RX_BUFFERS);
  private readonly slotMbuf = new Int32Array(RX_BUFFERS).fill(NO_MBUF);
  /** Receive slots left empty because the pool had no mbuf. */
  private readonly emptySlots: number[] = [];
  /** Per receive slot: bytes from slotAddr its storage holds (a whole frame and header; the length posted may be less). */
  private readonly slotCap = new Float64Array(RX_BUFFERS);
  private readonly rxBufferBytes: number | undefined;
  /**
   * A frame spanning buffers being gathered (MRG_RXBUF): its first slot (-1
   * when none; the slot stays out of the ring, its mbuf still counted as
   * posted), the buffers it spans and has so far, frame bytes gathered, and
   * whether it is already lost (too long) and only being consumed.
   */
  private pendSlot = -1;
  private pendWant = 0;
  private pendGot = 0;
  private pendLen = 0;
  private pendBad = false;
  /** What nextFrame() returned a slot with: the frame's length, and whether it was gathered from several buffers. */
  private frameLen = 0;
  private frameMerged = false;
  /** Buffers went back to the ring since the last kick. */
  private rxReposted = false;

  /**
   * @throws VirtioError when the device refuses initialisation; KernelError
   *   EINVAL when `options.rxBufferBytes` is not an integer of at least 12
   */
  constructor(
    private readonly dev: VirtioMmioDriver,
    memory: SharedArrayBuffer,
    dma: DmaAllocator,
    private readonly io: IoWait,
    irq: number,
    name: string,
    options: VirtioNetOptions = {},
  ) {
    this.name = name;
    this.irq = irq;
    this.mem = new Uint8Array(memory);
    const rb = options.rxBufferBytes;
    if (rb !== undefined && !(Number.isInteger(rb) && rb >= HDR.SIZE)) {
      throw new KernelError('EINVAL', `${name}: rxBufferBytes ${rb} must be an integer of at least ${HDR.SIZE} (the virtio-net header, 5.1.6.3.1)`);
    }
    this.rxBufferBytes = rb;
    this.negotiate();
    this.bufBytes = Math.ceil((HDR.SIZE + Math.min(this.mtu, MAX_MTU) + ETH_HLEN + VLAN_HLEN) / 64) * 64;
    this.rx = dev.createQueue(VIRTIO_NET_RECEIVEQ, memory, dma, { maxSize: RX_BUFFERS });
    this.tx = dev.createQueue(VIRTIO_NET_TRANSMITQ, memory, dma, { maxSize: TX_QUEUE_SIZE });
    this.rxAddr = dma.alloc(RX_BUFFERS * this.bufBytes, 64);
    this.txAddr = dma.alloc(TX_BUFFERS * this.bufBytes, 64);
    this.tsoAddr = this.txTso ? dma.alloc(TSO_BUFFERS * TSO_BUF_BYTES, 64) : -1;
    this.start();
    io.add(this);
  }

  /** Mbufs of the stack's pool posted in the receive ring right now (they count as in use in the pool). */
  get postedMbufs(): number {
    return this.mbufsPosted;
  }

  /**
   * Receive buffers in the ring right now (posted, or used and not yet
   * collected): RX_BUFFERS when idle, fewer while the pool is dry or a frame
   * spanning buffers waits for the rest. For tests and diagnostics.
   */
  get postedRxBuffers(): number {
    return this.rx.inFlightChains;
  }

  transmit(frame: Uint8Array, offset = 0, length = frame.length - offset): number {
    return this.send(frame, offset, length, 0, 0, 0);
  }

  /** Largest GSO frame transmitOffload takes with a gsoSize: TSO_FRAME_MAX while HOST_TSO4 is negotiated, else 0. */
  get tsoMaxBytes(): number {
    return this.txTso && this.tsoAddr >= 0 ? TSO_FRAME_MAX : 0;
  }

  transmitOffload(frame: Uint8Array, offset: number, length: number, csumStart: number, csumOffset: number, gsoSize = 0): number {
    if (!this.txChecksumOffload) return -NET_ERRNO.EINVAL;
    // The device range-checks these too; refusing here keeps a stack bug from costing the frame silently.
    if (!(csumStart >= ETH_HLEN) || !(csumOffset >= 0) || csumStart + csumOffset + 2 > length) return -NET_ERRNO.EINVAL;
    if (gsoSize === 0) return this.send(frame, offset, length, VIRTIO_NET_HDR_F_NEEDS_CSUM, csumStart, csumOffset);
    return this.sendTso(frame, offset, length, csumStart, csumOffset, gsoSize);
  }

  setReceiver(receiver: NetReceiver | null): void {
    this.receiver = receiver;
    if (receiver) this.io.wake();
  }

  setMbufReceiver(r: MbufReceiver | null): boolean {
    if (r === null) {
      this.mbufInput = null;
      // Slots the pool could not fill take driver buffers again; posted mbufs are freed as they come back.
      const empty = this.emptySlots.splice(0);
      for (const i of empty) this.post(i);
      if (empty.length > 0) this.dev.kick(VIRTIO_NET_RECEIVEQ);
      return true;
    }
    const b = r.pool.bytes;
    if (b.buffer !== this.mem.buffer) return false;
    if (NET_IP_ALIGN + HDR.SIZE + Math.min(this.mtu, MAX_MTU) + ETH_HLEN + VLAN_HLEN > r.mbufBytes) return false;
    if (this.mbufPool !== null && this.mbufPool !== r.pool && this.mbufsPosted > 0) return false;
    const fromDriverBuffers = this.mbufInput === null;
    this.mbufInput = r;
    this.mbufPool = r.pool;
    if (fromDriverBuffers) {
      // Buffers cannot be taken back from a live ring: hand on what already
      // arrived, then reset the device and post mbufs in every slot, so the
      // stack gets no copied frame. Frames the device still holds wait for
      // the new buffers (a reset keeps the backend's queue).
      this.poll();
      this.restart();
    }
    this.io.wake();
    return true;
  }

  receive(timeoutMs = Infinity): Promise<Uint8Array | null> {
    if (this.waiters.length === 0) {
      const frame = this.takeFrame();
      if (frame) return Promise.resolve(frame);
    }
    if (!(timeoutMs > 0)) return Promise.resolve(null);
    return this.io.track(
      new Promise<Uint8Array | null>((resolve) => {
        this.waiters.push({ resolve, deadline: this.io.now() + timeoutMs * 1e6 });
        this.io.wake();
      }),
    );
  }

  busy(): boolean {
    return this.receiver !== null || this.mbufInput !== null || this.waiters.length > 0;
  }

  poll(): number {
    let n = 0;
    while (this.busy()) {
      const t = this.nextFrame();
      if (t < 0) {
        if (t === RX_BROKEN) this.restart();
        break;
      }
      this.complete(t, this.frameLen, this.frameMerged);
      this.post(t);
      this.rxReposted = true;
      n++;
    }
    if (this.refill()) this.rxReposted = true;
    this.kickReposted();
    return n + this.expireWaiters();
  }

  arm(): boolean {
    return this.rx.enableInterrupts();
  }

  disarm(): void {
    this.rx.disableInterrupts();
  }

  deadline(): number {
    let d = this.emptySlots.length > 0 ? this.io.now() + REFILL_RETRY_NS : Infinity;
    for (const w of this.waiters) d = Math.min(d, w.deadline);
    return d;
  }

  interrupt(): void {
    const bits = this.dev.ackInterrupt();
    if ((bits & VIRTIO_MMIO_INT_CONFIG) === 0) return;
    if (this.dev.needsReset()) this.restart();
    else this.readLink();
  }

  private negotiate(): void {
    this.dev.probe();
    this.dev.negotiate(
      featureBit(VIRTIO_F_EVENT_IDX) | featureBit(VIRTIO_NET_F_MAC) | featureBit(VIRTIO_NET_F_STATUS) | featureBit(VIRTIO_NET_F_MTU) | featureBit(VIRTIO_NET_F_CSUM) | featureBit(VIRTIO_NET_F_MRG_RXBUF) |
        featureBit(VIRTIO_NET_F_HOST_TSO4),
    );
    this.txChecksumOffload = this.dev.hasFeature(VIRTIO_NET_F_CSUM);
    // A device may not offer HOST_TSO4 without CSUM (5.1.3.1); a driver that got one without the other uses neither for TSO.
    this.txTso = this.txChecksumOffload && this.dev.hasFeature(VIRTIO_NET_F_HOST_TSO4);
    this.rxMergeable = this.dev.hasFeature(VIRTIO_NET_F_MRG_RXBUF);
    if (this.dev.hasFeature(VIRTIO_NET_F_MAC)) this.dev.configReadBytes(CFG.mac.offset, this.mac);
    else this.mac.set([0x02, 0, 0, 0, 0, 1]);
    const mtu = this.dev.hasFeature(VIRTIO_NET_F_MTU) ? this.dev.configRead16(CFG.mtu.offset) : DEFAULT_MTU;
    this.mtu = mtu >= 68 ? mtu : DEFAULT_MTU;
    this.readLink();
  }

  private readLink(): void {
    this.linkUp = this.dev.hasFeature(VIRTIO_NET_F_STATUS) ? (this.dev.configRead16(CFG.status.offset) & VIRTIO_NET_S_LINK_UP) !== 0 : true;
  }

  /** Copies a frame into a transmit buffer behind a header with `flags` and the checksum offsets, and kicks the device. */
  private send(frame: Uint8Array, offset: number, length: number, flags: number, csumStart: number, csumOffset: number): number {
    if (!(length >= ETH_HLEN) || length > Math.min(this.mtu, MAX_MTU) + ETH_HLEN + VLAN_HLEN) return -NET_ERRNO.EMSGSIZE;
    if (!(offset >= 0) || offset + length > frame.length) return -NET_ERRNO.EINVAL;
    if (!this.linkUp) return -NET_ERRNO.ENETDOWN;
    this.reclaim();
    const i = this.txFree.pop();
    if (i === undefined) return -NET_ERRNO.ENOBUFS;
    const at = this.txAddr + i * this.bufBytes;
    this.writeHeader(at, flags, VIRTIO_NET_HDR_GSO_NONE, 0, 0, csumStart, csumOffset);
    this.mem.set(frame.subarray(offset, offset + length), at + HDR.SIZE);
    if (this.tx.add(at, HDR.SIZE + length, false, i) < 0) {
      this.txFree.push(i);
      return -NET_ERRNO.ENOBUFS;
    }
    this.dev.kick(VIRTIO_NET_TRANSMITQ);
    return 0;
  }

  /**
   * Copies a TCP/IPv4 super-segment into a large transmit buffer behind a
   * GSO_TCPV4 header (NEEDS_CSUM, gso_size, hdr_len = Ethernet, IPv4 and
   * TCP headers, 5.1.6.2) and kicks the device, which segments it.
   */
  private sendTso(frame: Uint8Array, offset: number, length: number, csumStart: number, csumOffset: number, gsoSize: number): number {
    if (this.tsoMaxBytes === 0 || !Number.isInteger(gsoSize) || !(gsoSize >= 1 && gsoSize <= 0xffff)) return -NET_ERRNO.EINVAL;
    if (!(length >= ETH_HLEN) || length > TSO_FRAME_MAX) return -NET_ERRNO.EMSGSIZE;
    if (!(offset >= 0) || offset + length > frame.length || csumStart + TH_OFF >= length) return -NET_ERRNO.EINVAL;
    const hdrLen = csumStart + ((frame[offset + csumStart + TH_OFF]! >>> 4) << 2);
    if (hdrLen > length) return -NET_ERRNO.EINVAL;
    if (!this.linkUp) return -NET_ERRNO.ENETDOWN;
    this.reclaim();
    const j = this.tsoFree.pop();
    if (j === undefined) return -NET_ERRNO.ENOBUFS;
    const at = this.tsoAddr + j * TSO_BUF_BYTES;
    this.writeHeader(at, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, hdrLen, gsoSize, csumStart, csumOffset);
    this.mem.set(frame.subarray(offset, offset + length), at + HDR.SIZE);
    if (this.tx.add(at, HDR.SIZE + length, false, TX_BUFFERS + j) < 0) {
      this.tsoFree.push(j);
      return -NET_ERRNO.ENOBUFS;
    }
    this.dev.kick(VIRTIO_NET_TRANSMITQ);
    return 0;
  }

  /** Writes a transmit virtio_net_hdr at guest-physical `at` (le16 fields; num_buffers 0, the device ignores it on transmit). */
  private writeHeader(at: number, flags: number, gsoType: number, hdrLen: number, gsoSize: number, csumStart: number, csumOffset: number): void {
    const m = this.mem;
    m.fill(0, at, at + HDR.SIZE);
    m[at + HDR.flags.offset] = flags;
    m[at + HDR.gso_type.offset] = gsoType;
    m[at + HDR.hdr_len.offset] = hdrLen & 0xff;
    m[at + HDR.hdr_len.offset + 1] = hdrLen >>> 8;
    m[at + HDR.gso_size.offset] = gsoSize & 0xff;
    m[at + HDR.gso_size.offset + 1] = gsoSize >>> 8;
    m[at + HDR.csum_start.offset] = csumStart & 0xff;
    m[at + HDR.csum_start.offset + 1] = csumStart >>> 8;
    m[at + HDR.csum_offset.offset] = csumOffset & 0xff;
    m[at + HDR.csum_offset.offset + 1] = csumOffset >>> 8;
  }

  /** Posts every receive buffer, frees every transmit buffer, DRIVER_OK. */
  private start(): void {
    this.txFree.length = 0;
    for (let i = TX_BUFFERS - 1; i >= 0; i--) this.txFree.push(i);
    this.tsoFree.length = 0;
    if (this.tsoAddr >= 0) for (let j = TSO_BUFFERS - 1; j >= 0; j--) this.tsoFree.push(j);
    this.emptySlots.length = 0;
    for (let i = 0; i < RX_BUFFERS; i++) this.post(i);
    this.tx.disableInterrupts();
    this.dev.driverOk();
    this.dev.kick(VIRTIO_NET_RECEIVEQ);
  }

  /** After DEVICE_NEEDS_RESET or a broken ring: initialise the device again; waiters keep waiting. */
  private restart(): void {
    try {
      this.negotiate();
      this.rx.reset();
      this.pendSlot = -1; // its buffer, like every posted one, is forgotten with the ring
      this.dropPostedMbufs();
      this.tx.reset();
      this.dev.setupQueue(VIRTIO_NET_RECEIVEQ, this.rx);
      this.dev.setupQueue(VIRTIO_NET_TRANSMITQ, this.tx);
      this.start();
    } catch {
      this.linkUp = false; // the device is gone for good: transmit reports ENETDOWN
    }
  }

  /** The ring forgot its buffers: the mbufs in them go back to the pool. */
  private dropPostedMbufs(): void {
    const pool = this.mbufPool;
    for (let i = 0; i < RX_BUFFERS; i++) {
      const m = this.slotMbuf[i]!;
      if (m === NO_MBUF) continue;
      this.slotMbuf[i] = NO_MBUF;
      pool?.free(m);
    }
    this.mbufsPosted = 0;
  }

  /**
   * Posts a buffer in receive slot `i`: a fresh mbuf while the stack takes
   * mbufs (the slot stays empty when the pool has none), else the slot's
   * driver buffer.
   */
  private post(i: number): void {
    const input = this.mbufInput;
    if (input === null) {
      const at = this.rxAddr + i * this.bufBytes;
      this.slotAddr[i] = at;
      this.slotCap[i] = this.bufBytes;
      this.rx.add(at, this.postBytes(this.bufBytes), true, i);
      return;
    }
    const pool = input.pool;
    const m = pool.alloc(0);
    if (m < 0) {
      this.rxStats.refillFailures++;
      this.emptySlots.push(i);
      return;
    }
    const at = pool.bytes.byteOffset + pool.storage(m) + NET_IP_ALIGN;
    if (this.rx.add(at, this.postBytes(input.mbufBytes - NET_IP_ALIGN), true, i) < 0) {
      pool.free(m);
      this.emptySlots.push(i);
      return;
    }
    this.slotAddr[i] = at;
    this.slotCap[i] = input.mbufBytes - NET_IP_ALIGN;
    this.slotMbuf[i] = m;
    this.mbufsPosted++;
  }

  /** Posts into empty slots while the pool has mbufs; true when something was posted. */
  private refill(): boolean {
    let posted = false;
    while (this.emptySlots.length > 0 && this.mbufInput !== null) {
      const before = this.emptySlots.length;
      this.post(this.emptySlots.pop()!);
      if (this.emptySlots.length >= before) break; // still none free: try again later
      posted = true;
    }
    return posted;
  }

  /** Bytes to post of a buffer whose storage holds `cap`: all of it, unless MRG_RXBUF lets rxBufferBytes make it smaller. */
  private postBytes(cap: number): number {
    return this.rxMergeable && this.rxBufferBytes !== undefined ? Math.min(cap, this.rxBufferBytes) : cap;
  }

  /**
   * Collects used receive buffers until a whole frame lies in one slot:
   * returns the slot (frame bytes after the header from slotAddr, length in
   * frameLen), RX_NONE when the used ring ran dry first (a frame spanning
   * buffers keeps what it gathered for the next call), or RX_BROKEN. Buffers
   * after a frame's first, and those of dropped frames, go back to the ring
   * here (rxReposted: the caller kicks).
   */
  private nextFrame(): number {
    for (;;) {
      const t = this.rx.getUsed();
      if (t < 0) return t === VIRTQ_NONE ? RX_NONE : RX_BROKEN;
      const used = this.rx.usedLength; // clamped to the length posted
      if (this.pendSlot < 0) {
        const n = this.numBuffers(t, used);
        if (n === 1) {
          this.frameLen = used - HDR.SIZE;
          this.frameMerged = false;
          return t;
        }
        if (n === 0 || n > this.rx.size) {
          // The device cannot have had more chains than the ring: a bad header. Resynchronise at the next buffer.
          this.rxStats.dropped++;
          this.recycle(t);
          continue;
        }
        this.pendSlot = t;
        this.pendWant = n;
        this.pendGot = 1;
        this.pendLen = used - HDR.SIZE;
        this.pendBad = false;
        continue;
      }
      this.gather(t, used);
      this.recycle(t);
      if (++this.pendGot < this.pendWant) continue;
      const f = this.pendSlot;
      this.pendSlot = -1;
      if (this.pendBad) {
        this.rxStats.dropped++;
        this.recycle(f);
        continue;
      }
      this.rxStats.merged++;
      this.frameLen = this.pendLen;
      this.frameMerged = true;
      return f;
    }
  }

  /** num_buffers of the frame whose first buffer is slot `t` (1 without MRG_RXBUF, or when no header came: the frame is too short anyway). */
  private numBuffers(t: number, used: number): number {
    if (!this.rxMergeable || used < HDR.SIZE) return 1;
    const at = this.slotAddr[t]! + HDR.num_buffers.offset;
    return this.mem[at]! | (this.mem[at + 1]! << 8); // le16
  }

  /** Appends slot `t`'s `used` bytes to the frame being gathered, or marks it lost when the first slot cannot hold them. */
  private gather(t: number, used: number): void {
    const f = this.pendSlot;
    if (this.pendBad || this.pendLen + used > this.slotCap[f]! - HDR.SIZE) {
      this.pendBad = true;
      return;
    }
    const from = this.slotAddr[t]!;
    this.mem.copyWithin(this.slotAddr[f]! + HDR.SIZE + this.pendLen, from, from + used);
    this.pendLen += used;
  }

  /** Puts slot `t` back in the ring with a fresh buffer (its bytes were copied out, or its frame dropped). */
  private recycle(t: number): void {
    const m = this.slotMbuf[t]!;
    if (m !== NO_MBUF) {
      this.slotMbuf[t] = NO_MBUF;
      this.mbufsPosted--;
      this.mbufPool!.free(m);
    }
    this.post(t);
    this.rxReposted = true;
  }

  private kickReposted(): void {
    if (!this.rxReposted) return;
    this.rxReposted = false;
    this.dev.kick(VIRTIO_NET_RECEIVEQ);
  }

  /**
   * Slot `t` came back with `length` frame bytes after the header (`merged`:
   * gathered from several buffers): hand the frame on, free what is not
   * handed on.
   */
  private complete(t: number, length: number, merged: boolean): void {
    const m = this.slotMbuf[t]!;
    const at = this.slotAddr[t]! + HDR.SIZE;
    if (m !== NO_MBUF) {
      this.slotMbuf[t] = NO_MBUF;
      this.mbufsPosted--;
      const pool = this.mbufPool!;
      const input = this.mbufInput;
      if (input !== null && input.pool === pool && length >= ETH_HLEN) {
        pool.setData(m, at - pool.bytes.byteOffset, length);
        if (!merged) this.rxStats.zeroCopy++;
        try {
          input.inputMbuf(m);
        } catch {
          // inputMbuf must not throw; the stack owns m either way, the ring goes on.
        }
        return;
      }
      if (length > 0) this.hand(at, length);
      pool.free(m);
      return;
    }
    if (length > 0) this.hand(at, length);
  }

  private hand(at: number, length: number): void {
    if (length < ETH_HLEN) {
      this.rxStats.dropped++;
      return;
    }
    if (this.receiver) {
      this.rxStats.copied++;
      try {
        this.receiver.receiveFrame(this.mem, at, length);
      } catch {
        // A receiver must not throw; the frame is dropped, the ring goes on.
      }
      return;
    }
    const w = this.waiters.shift();
    if (w) {
      this.rxStats.copied++;
      w.resolve(this.mem.slice(at, at + length));
    }
  }

  /** Takes one waiting frame off the ring as a copy (a receive() with nothing queued before it). */
  private takeFrame(): Uint8Array | null {
    for (;;) {
      const t = this.nextFrame();
      if (t < 0) {
        this.kickReposted();
        return null;
      }
      const length = this.frameLen;
      const at = this.slotAddr[t]! + HDR.SIZE;
      const frame = length >= ETH_HLEN ? this.mem.slice(at, at + length) : null;
      this.recycle(t);
      this.kickReposted();
      if (frame) {
        this.rxStats.copied++;
        return frame;
      }
    }
  }

  private reclaim(): void {
    for (let t = this.tx.getUsed(); t >= 0; t = this.tx.getUsed()) {
      if (t < TX_BUFFERS) this.txFree.push(t);
      else this.tsoFree.push(t - TX_BUFFERS);
    }
  }

  private expireWaiters(): number {
    if (this.waiters.length === 0) return 0;
    const now = this.io.now();
    let n = 0;
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i]!;
      if (w.deadline <= now) {
        this.waiters.splice(i, 1);
        w.resolve(null);
        n++;
      } else i++;
    }
    return n;
  }
}
