/**
 * The virtio-net driver (virtio-v1.2 section 5.1) at the frame level: MAC,
 * MTU and link status from the configuration space, one receive and one
 * transmit queue, no offloads and no mergeable buffers — every frame is a
 * 12-byte virtio_net_hdr and the Ethernet frame in one buffer.
 *
 * Receive: RX buffers (header + MTU-sized frame each) stay posted. Frames are
 * taken off the used ring only when someone wants them — a receiver, which
 * gets them in place, or a receive() waiter, which gets a copy — so frames
 * nobody asked for wait in the ring (and, when it is full, in the device).
 * Transmit: a frame is copied into a free transmit buffer and the device is
 * kicked at once; completed buffers are reclaimed on the next transmit, so
 * the transmit queue needs no interrupts.
 */
import {
  VIRTIO_F_EVENT_IDX,
  VIRTIO_MMIO_INT_CONFIG,
  VIRTIO_NET_CONFIG_LAYOUT as CFG,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_LAYOUT as HDR,
  VIRTIO_NET_RECEIVEQ,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_NET_TRANSMITQ,
  featureBit,
} from '@osv-ts/virtio';
import { VIRTQ_NONE, type DmaAllocator, type VirtioMmioDriver, type VirtqueueDriver } from '@osv-ts/virtio/driver';
import type { IoSource, IoWait } from './ioWait.js';
import { NET_ERRNO, type NetDevice, type NetReceiver } from './netDevice.js';

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
  private readonly mem: Uint8Array;
  private readonly rx: VirtqueueDriver;
  private readonly tx: VirtqueueDriver;
  private readonly bufBytes: number;
  private readonly rxAddr: number;
  private readonly txAddr: number;
  private readonly txFree: number[] = [];
  private readonly waiters: Waiter[] = [];
  private receiver: NetReceiver | null = null;

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

  transmit(frame: Uint8Array, offset = 0, length = frame.length - offset): number {
    if (!(length >= ETH_HLEN) || length > Math.min(this.mtu, MAX_MTU) + ETH_HLEN + VLAN_HLEN) return -NET_ERRNO.EMSGSIZE;
    if (!(offset >= 0) || offset + length > frame.length) return -NET_ERRNO.EINVAL;
    if (!this.linkUp) return -NET_ERRNO.ENETDOWN;
    this.reclaim();
    const i = this.txFree.pop();
    if (i === undefined) return -NET_ERRNO.ENOBUFS;
    const at = this.txAddr + i * this.bufBytes;
    this.mem.fill(0, at, at + HDR.SIZE);
    this.mem.set(frame.subarray(offset, offset + length), at + HDR.SIZE);
    if (this.tx.add(at, HDR.SIZE + length, false, i) < 0) {
      this.txFree.push(i);
      return -NET_ERRNO.ENOBUFS;
    }
    this.dev.kick(VIRTIO_NET_TRANSMITQ);
    return 0;
  }

  setReceiver(receiver: NetReceiver | null): void {
    this.receiver = receiver;
    if (receiver) this.io.wake();
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
    return this.receiver !== null || this.waiters.length > 0;
  }

  poll(): number {
    let n = 0;
    while (this.receiver !== null || this.waiters.length > 0) {
      const t = this.rx.getUsed();
      if (t < 0) {
        if (t !== VIRTQ_NONE) this.restart();
        break;
      }
      const length = this.rx.usedLength - HDR.SIZE;
      const at = this.rxAddr + t * this.bufBytes + HDR.SIZE;
      if (length > 0) this.hand(at, length);
      this.post(t);
      n++;
    }
    if (n > 0) this.dev.kick(VIRTIO_NET_RECEIVEQ);
    return n + this.expireWaiters();
  }

  arm(): boolean {
    return this.rx.enableInterrupts();
  }

  disarm(): void {
    this.rx.disableInterrupts();
  }

  deadline(): number {
    let d = Infinity;
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
    this.dev.negotiate(featureBit(VIRTIO_F_EVENT_IDX) | featureBit(VIRTIO_NET_F_MAC) | featureBit(VIRTIO_NET_F_STATUS) | featureBit(VIRTIO_NET_F_MTU));
    if (this.dev.hasFeature(VIRTIO_NET_F_MAC)) this.dev.configReadBytes(CFG.mac.offset, this.mac);
    else this.mac.set([0x02, 0, 0, 0, 0, 1]);
    const mtu = this.dev.hasFeature(VIRTIO_NET_F_MTU) ? this.dev.configRead16(CFG.mtu.offset) : DEFAULT_MTU;
    this.mtu = mtu >= 68 ? mtu : DEFAULT_MTU;
    this.readLink();
  }

  private readLink(): void {
    this.linkUp = this.dev.hasFeature(VIRTIO_NET_F_STATUS) ? (this.dev.configRead16(CFG.status.offset) & VIRTIO_NET_S_LINK_UP) !== 0 : true;
  }

  /** Posts every receive buffer, frees every transmit buffer, DRIVER_OK. */
  private start(): void {
    this.txFree.length = 0;
    for (let i = TX_BUFFERS - 1; i >= 0; i--) this.txFree.push(i);
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
      this.tx.reset();
      this.dev.setupQueue(VIRTIO_NET_RECEIVEQ, this.rx);
      this.dev.setupQueue(VIRTIO_NET_TRANSMITQ, this.tx);
      this.start();
    } catch {
      this.linkUp = false; // the device is gone for good: transmit reports ENETDOWN
    }
  }

  private post(i: number): void {
    this.rx.add(this.rxAddr + i * this.bufBytes, this.bufBytes, true, i);
  }

  private hand(at: number, length: number): void {
    if (this.receiver) {
      try {
        this.receiver.receiveFrame(this.mem, at, length);
      } catch {
        // A receiver must not throw; the frame is dropped, the ring goes on.
      }
      return;
    }
    this.waiters.shift()?.resolve(this.mem.slice(at, at + length));
  }

  /** Takes one waiting frame off the ring as a copy (a receive() with nothing queued before it). */
  private takeFrame(): Uint8Array | null {
    for (;;) {
      const t = this.rx.getUsed();
      if (t < 0) return null;
      const length = this.rx.usedLength - HDR.SIZE;
      const at = this.rxAddr + t * this.bufBytes + HDR.SIZE;
      const frame = length > 0 ? this.mem.slice(at, at + length) : null;
      this.post(t);
      this.dev.kick(VIRTIO_NET_RECEIVEQ);
      if (frame) return frame;
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
