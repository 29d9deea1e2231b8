/**
 * The virtio-net driver (virtio-v1.2 section 5.1) at the frame level: MAC,
 * MTU and link status from the configuration space, one receive and one
 * transmit queue, transmit checksum offload when the device offers
 * VIRTIO_NET_F_CSUM, no segmentation offload and no mergeable buffers —
 * every frame is a 12-byte virtio_net_hdr and the Ethernet frame in one
 * buffer.
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
 * Frames are taken off the used ring only when someone wants them — the
 * stack, a receiver (in place), or a receive() waiter (a copy) — so frames
 * nobody asked for wait in the ring (and, when it is full, in the device).
 * Transmit: a frame is copied into a free transmit buffer and the device is
 * kicked at once; completed buffers are reclaimed on the next transmit, so
 * the transmit queue needs no interrupts.
 */
import {
  VIRTIO_F_EVENT_IDX,
  VIRTIO_MMIO_INT_CONFIG,
  VIRTIO_NET_CONFIG_LAYOUT as CFG,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_LAYOUT as HDR,
  VIRTIO_NET_RECEIVEQ,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_NET_TRANSMITQ,
  featureBit,
} from '@osv-ts/virtio';
import { VIRTQ_NONE, type DmaAllocator, type VirtioMmioDriver, type VirtqueueDriver } from '@osv-ts/virtio/driver';
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
 * Where the virtio header starts in a posted mbuf: two bytes in, so the IP
 * header lands on a 4-byte boundary (Linux's NET_IP_ALIGN), as on the copy path.
 */
const NET_IP_ALIGN = 2;
/** How soon the poller comes back to refill empty receive slots, ns. */
const REFILL_RETRY_NS = 1e6;
/** No mbuf in the slot (a driver buffer, or nothing). */
const NO_MBUF = -1;

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
  readonly rxStats: NetRxStats = { zeroCopy: 0, copied: 0, dropped: 0, refillFailures: 0 };
  private readonly mem: Uint8Array;
  private readonly rx: VirtqueueDriver;
  private readonly tx: VirtqueueDriver;
  private readonly bufBytes: number;
  private readonly rxAddr: number;
  private readonly txAddr: number;
  private readonly txFree: number[] = [];
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

  /** @throws VirtioError when the device refuses initialisation */
  constructor(
    private readonly dev: VirtioMmioDriver,
    memory: SharedArrayBuffer,
    dma: DmaAllocator,
    private readonly io: IoWait,
    irq: number,
    name: string,
  ) {
    this.name = name;
    this.irq = irq;
    this.mem = new Uint8Array(memory);
    this.negotiate();
    this.bufBytes = Math.ceil((HDR.SIZE + Math.min(this.mtu, MAX_MTU) + ETH_HLEN + VLAN_HLEN) / 64) * 64;
    this.rx = dev.createQueue(VIRTIO_NET_RECEIVEQ, memory, dma, { maxSize: RX_BUFFERS });
    this.tx = dev.createQueue(VIRTIO_NET_TRANSMITQ, memory, dma, { maxSize: TX_BUFFERS });
    this.rxAddr = dma.alloc(RX_BUFFERS * this.bufBytes, 64);
    this.txAddr = dma.alloc(TX_BUFFERS * this.bufBytes, 64);
    this.start();
    io.add(this);
  }

  /** Mbufs of the stack's pool posted in the receive ring right now (they count as in use in the pool). */
  get postedMbufs(): number {
    return this.mbufsPosted;
  }

  transmit(frame: Uint8Array, offset = 0, length = frame.length - offset): number {
    return this.send(frame, offset, length, 0, 0, 0);
  }

  transmitOffload(frame: Uint8Array, offset: number, length: number, csumStart: number, csumOffset: number): number {
    if (!this.txChecksumOffload) return -NET_ERRNO.EINVAL;
    // The device range-checks these too; refusing here keeps a stack bug from costing the frame silently.
    if (!(csumStart >= ETH_HLEN) || !(csumOffset >= 0) || csumStart + csumOffset + 2 > length) return -NET_ERRNO.EINVAL;
    return this.send(frame, offset, length, VIRTIO_NET_HDR_F_NEEDS_CSUM, csumStart, csumOffset);
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
    let posted = false;
    while (this.busy()) {
      const t = this.rx.getUsed();
      if (t < 0) {
        if (t !== VIRTQ_NONE) this.restart();
        break;
      }
      this.complete(t, this.rx.usedLength - HDR.SIZE);
      this.post(t);
      posted = true;
      n++;
    }
    if (this.refill()) posted = true;
    if (posted) this.dev.kick(VIRTIO_NET_RECEIVEQ);
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
      featureBit(VIRTIO_F_EVENT_IDX) | featureBit(VIRTIO_NET_F_MAC) | featureBit(VIRTIO_NET_F_STATUS) | featureBit(VIRTIO_NET_F_MTU) | featureBit(VIRTIO_NET_F_CSUM),
    );
    this.txChecksumOffload = this.dev.hasFeature(VIRTIO_NET_F_CSUM);
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
    const m = this.mem;
    m.fill(0, at, at + HDR.SIZE);
    m[at + HDR.flags.offset] = flags;
    m[at + HDR.csum_start.offset] = csumStart & 0xff; // le16
    m[at + HDR.csum_start.offset + 1] = csumStart >>> 8;
    m[at + HDR.csum_offset.offset] = csumOffset & 0xff; // le16
    m[at + HDR.csum_offset.offset + 1] = csumOffset >>> 8;
    m.set(frame.subarray(offset, offset + length), at + HDR.SIZE);
    if (this.tx.add(at, HDR.SIZE + length, false, i) < 0) {
      this.txFree.push(i);
      return -NET_ERRNO.ENOBUFS;
    }
    this.dev.kick(VIRTIO_NET_TRANSMITQ);
    return 0;
  }

  /** Posts every receive buffer, frees every transmit buffer, DRIVER_OK. */
  private start(): void {
    this.txFree.length = 0;
    for (let i = TX_BUFFERS - 1; i >= 0; i--) this.txFree.push(i);
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
      this.rx.add(at, this.bufBytes, true, i);
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
    if (this.rx.add(at, input.mbufBytes - NET_IP_ALIGN, true, i) < 0) {
      pool.free(m);
      this.emptySlots.push(i);
      return;
    }
    this.slotAddr[i] = at;
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

  /** Slot `t` came back with `length` frame bytes after the header: hand the frame on, free what is not handed on. */
  private complete(t: number, length: number): void {
    const m = this.slotMbuf[t]!;
    const at = this.slotAddr[t]! + HDR.SIZE;
    if (m !== NO_MBUF) {
      this.slotMbuf[t] = NO_MBUF;
      this.mbufsPosted--;
      const pool = this.mbufPool!;
      const input = this.mbufInput;
      if (input !== null && input.pool === pool && length >= ETH_HLEN) {
        pool.setData(m, at - pool.bytes.byteOffset, length);
        this.rxStats.zeroCopy++;
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
      const t = this.rx.getUsed();
      if (t < 0) return null;
      const length = this.rx.usedLength - HDR.SIZE;
      const at = this.slotAddr[t]! + HDR.SIZE;
      const frame = length >= ETH_HLEN ? this.mem.slice(at, at + length) : null;
      const m = this.slotMbuf[t]!;
      if (m !== NO_MBUF) {
        this.slotMbuf[t] = NO_MBUF;
        this.mbufsPosted--;
        this.mbufPool!.free(m);
      }
      this.post(t);
      this.dev.kick(VIRTIO_NET_RECEIVEQ);
      if (frame) {
        this.rxStats.copied++;
        return frame;
      }
    }
  }

  private reclaim(): void {
    for (let t = this.tx.getUsed(); t >= 0; t = this.tx.getUsed()) this.txFree.push(t);
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
