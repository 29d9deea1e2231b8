/**
 * virtio-net (virtio-v1.2 section 5.1) at the frame level: one receive and
 * one transmit queue, a MAC address, link status and an MTU, over a
 * NetBackend. Transmit checksum offload (VIRTIO_NET_F_CSUM) is offered
 * unless the options turn offloads off: a frame whose header says
 * NEEDS_CSUM gets its checksum computed here (netChecksum.ts) before the
 * backend sees it, so backends only ever see ordinary frames. No
 * segmentation offload (TSO), no receive offloads (GUEST_CSUM, GUEST_TSO4)
 * and no mergeable receive buffers are offered: every frame in either
 * direction is a 12-byte virtio_net_hdr (VERSION_1 layout) followed by the
 * Ethernet frame, in one chain.
 *
 * Against a hostile guest: a transmit chain shorter than the header is a
 * protocol violation (DEVICE_NEEDS_RESET, as in QEMU). Frames shorter than
 * an Ethernet header or longer than the MTU allows, headers asking for
 * offloads that were not negotiated (NEEDS_CSUM without CSUM, any gso_type),
 * and NEEDS_CSUM with csum_start/csum_offset outside the frame are dropped,
 * counted and logged. A receive
 * buffer too small for the frame is returned with used length 0 and the
 * frame dropped. Received frames wait in a bounded FrameQueue while the guest
 * has no receive buffers (or is not yet, or no longer, DRIVER_OK); when it
 * fills the backend is paused.
 */
import {
  VIRTIO_ID_NET,
  VIRTIO_NET_CONFIG_LAYOUT,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_LAYOUT as HDR,
  VIRTIO_NET_RECEIVEQ,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_NET_TRANSMITQ,
  featureBit,
} from '@osv-ts/virtio';
import { ConfigSpace, VIRTQ_EMPTY, type VirtioDeviceModel, type VirtioTransport, type VirtqueueDevice } from '@osv-ts/virtio/device';
import type { NetBackend } from './netBackend.js';
import type { PcapWriter } from './pcapWriter.js';
import { FrameQueue } from './frameQueue.js';
import { completeChecksum } from './netChecksum.js';
import { VirtioMmioDevice, type DeviceWiring } from './virtioMmioDevice.js';

/** Bytes of an Ethernet header (destination, source, EtherType). */
export const ETH_HLEN = 14;
/** Room for one 802.1Q tag on top of the MTU. */
const VLAN_HLEN = 4;
/** Default MTU, bytes of Ethernet payload. */
export const DEFAULT_MTU = 1500;
/** QueueNumMax of both queues. */
const NET_QUEUE_SIZE = 256;
/** Received frames held while the guest has no buffers. */
const RX_QUEUE_FRAMES = 256;
/** The backend is paused below this many free slots (a socket chunk may still hold several frames). */
const RX_PAUSE_BELOW = 64;

/** Options of a virtio-net device. */
export interface NetDeviceOptions {
  /** MAC address, 6 bytes. */
  readonly mac: Uint8Array;
  /** MTU advertised through VIRTIO_NET_F_MTU, 68..65535 (default 1500). */
  readonly mtu?: number;
  /** Records every frame sent and received. */
  readonly pcap?: PcapWriter | null;
  /** Offer VIRTIO_F_EVENT_IDX (default true). */
  readonly eventIdx?: boolean;
  /** Offer the offloads this device implements, VIRTIO_NET_F_CSUM (default true; `--net ...,offloads=off` clears it). */
  readonly offloads?: boolean;
}

/** Counters, for tests and diagnostics. */
export interface NetStats {
  txFrames: number;
  txDropped: number;
  rxFrames: number;
  rxDropped: number;
  /** Transmitted frames whose checksum the device computed (NEEDS_CSUM). */
  txChecksummed: number;
  /** Transmitted frames dropped for offload metadata (not negotiated, or out of range). */
  txBadOffload: number;
}

/** The virtio-net device model. */
export class NetModel implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_NET;
  readonly features: bigint;
  readonly queueCount = 2;
  readonly configSize = VIRTIO_NET_CONFIG_LAYOUT.SIZE;
  readonly stats: NetStats = { txFrames: 0, txDropped: 0, rxFrames: 0, rxDropped: 0, txChecksummed: 0, txBadOffload: 0 };
  readonly mtu: number;
  private readonly maxFrame: number;
  private readonly config = new ConfigSpace(VIRTIO_NET_CONFIG_LAYOUT);
  private readonly hdr = new Uint8Array(HDR.SIZE);
  private readonly rxHdr = new Uint8Array(HDR.SIZE);
  private readonly txFrame: Uint8Array;
  private readonly rx: FrameQueue;
  private readonly pcap: PcapWriter | null;
  private transport: VirtioTransport | undefined;
  private live = false;
  private paused = false;

  constructor(
    private readonly backend: NetBackend,
    options: NetDeviceOptions,
  ) {
    this.features =
      featureBit(VIRTIO_NET_F_MAC) | featureBit(VIRTIO_NET_F_STATUS) | featureBit(VIRTIO_NET_F_MTU) | (options.offloads === false ? 0n : featureBit(VIRTIO_NET_F_CSUM));
    this.mtu = options.mtu ?? DEFAULT_MTU;
    this.maxFrame = this.mtu + ETH_HLEN + VLAN_HLEN;
    this.txFrame = new Uint8Array(this.maxFrame);
    this.rx = new FrameQueue(this.maxFrame, RX_QUEUE_FRAMES);
    this.pcap = options.pcap ?? null;
    this.config.setBytes('mac', options.mac);
    this.config.set('mtu', this.mtu);
    this.config.set('status', backend.linkUp ? VIRTIO_NET_S_LINK_UP : 0);
    this.rxHdr[HDR.num_buffers.offset] = 1; // le16 1: one buffer per frame without MRG_RXBUF (5.1.6.3.2)
    backend.attach({
      frame: (data, offset, length) => this.safely(() => this.received(data, offset, length)),
      link: (up) => this.safely(() => this.linkChanged(up)),
      writable: () => this.safely(() => this.transmit()),
    });
  }

  attach(transport: VirtioTransport): void {
    this.transport = transport;
  }

  queueMaxSize(): number {
    return NET_QUEUE_SIZE;
  }

  configRead(offset: number, size: 1 | 2 | 4): number {
    return this.config.read(offset, size);
  }

  driverOk(): void {
    this.live = true;
    this.deliver();
  }

  queueNotify(index: number): void {
    if (index === VIRTIO_NET_TRANSMITQ) this.transmit();
    else if (index === VIRTIO_NET_RECEIVEQ) this.deliver();
  }

  reset(): void {
    // Frames already held stay held for the next DRIVER_OK, as QEMU's backend
    // queue keeps them: a guest resets its device at every boot, and the
    // peer's first frames (an ARP request, a DHCP offer) must not be lost to it.
    this.live = false;
  }

  /** Takes frames off the transmit ring and hands them to the backend until it is empty or the backend congested. */
  private transmit(): void {
    const q = this.transport?.queue(VIRTIO_NET_TRANSMITQ);
    if (!q || !this.live) return;
    let head = 0;
    while (!this.backend.congested && (head = q.pop()) >= 0) {
      if (!this.sendChain(q, head)) return;
      q.pushUsed(head, 0);
    }
    this.backend.flush();
    this.transport?.flush(VIRTIO_NET_TRANSMITQ);
    if (head < VIRTQ_EMPTY) this.live = false; // the queue broke (DEVICE_NEEDS_RESET is set)
  }

  /** Sends the frame in chain `head`; false when the chain was a violation (the device needs a reset). */
  private sendChain(q: VirtqueueDevice, head: number): boolean {
    const c = q.chain;
    if (c.readableBytes < HDR.SIZE) {
      this.live = false;
      this.transport?.needsReset(`transmit chain at head ${head} has ${c.readableBytes} device-readable bytes, less than the ${HDR.SIZE}-byte virtio-net header`);
      return false;
    }
    const length = c.readableBytes - HDR.SIZE;
    const h = this.hdr;
    c.read(h);
    if (length < ETH_HLEN || length > this.maxFrame) return this.dropTx(`transmitted frame of ${length} bytes is outside ${ETH_HLEN}..${this.maxFrame}; dropped`, false);
    if (h[HDR.gso_type.offset] !== VIRTIO_NET_HDR_GSO_NONE) return this.dropTx(`transmitted frame asks for segmentation offload (gso_type ${h[HDR.gso_type.offset]}), which was not offered; dropped`, true);
    const needsCsum = (h[HDR.flags.offset]! & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0;
    if (needsCsum && this.transport?.hasFeature(VIRTIO_NET_F_CSUM) !== true) return this.dropTx('transmitted frame asks for checksum offload, which was not negotiated; dropped', true);
    c.read(this.txFrame, HDR.SIZE);
    if (needsCsum) {
      const start = h[HDR.csum_start.offset]! | (h[HDR.csum_start.offset + 1]! << 8); // le16
      const offset = h[HDR.csum_offset.offset]! | (h[HDR.csum_offset.offset + 1]! << 8); // le16
      const bad = completeChecksum(this.txFrame, length, start, offset, ETH_HLEN);
      if (bad !== null) return this.dropTx(`transmitted frame's checksum offload: ${bad}; dropped`, true);
      this.stats.txChecksummed++;
    }
    this.pcap?.record(this.txFrame, 0, length);
    if (this.backend.send(this.txFrame, 0, length)) this.stats.txFrames++;
    else this.stats.txDropped++;
    return true;
  }

  /** Drops a transmitted frame (the chain itself was fine): counted and logged. Returns true (the ring goes on). */
  private dropTx(why: string, offload: boolean): boolean {
    this.stats.txDropped++;
    if (offload) this.stats.txBadOffload++;
    this.transport?.log(why);
    return true;
  }

  /** A frame from the backend. */
  private received(data: Uint8Array, offset: number, length: number): void {
    if (length < ETH_HLEN || length > this.maxFrame) {
      this.stats.rxDropped++;
      return;
    }
    this.pcap?.record(data, offset, length);
    if (!this.rx.push(data, offset, length)) this.stats.rxDropped++;
    this.deliver();
    if (!this.paused && this.rx.free < RX_PAUSE_BELOW) {
      this.paused = true;
      this.backend.pause();
    }
  }

  /** Moves held frames into the guest's receive buffers. */
  private deliver(): void {
    const q = this.transport?.queue(VIRTIO_NET_RECEIVEQ);
    if (!q || !this.live || this.rx.count === 0) return;
    const c = q.chain;
    let head = 0;
    while (this.rx.count > 0 && (head = q.pop()) >= 0) {
      const length = this.rx.oldestLength();
      if (c.writableBytes < HDR.SIZE + length) {
        this.stats.rxDropped++;
        this.transport?.log(`receive buffer of ${c.writableBytes} bytes cannot hold a ${length}-byte frame and its header; frame dropped`);
        q.pushUsed(head, 0);
      } else {
        c.write(this.rxHdr);
        c.write(this.rx.oldest(), HDR.SIZE, length);
        q.pushUsed(head, HDR.SIZE + length);
        this.stats.rxFrames++;
      }
      this.rx.shift();
    }
    this.transport?.flush(VIRTIO_NET_RECEIVEQ);
    if (head < VIRTQ_EMPTY) this.live = false;
    if (this.rx.free >= RX_QUEUE_FRAMES / 2) this.resumeBackend();
  }

  private resumeBackend(): void {
    if (!this.paused) return;
    this.paused = false;
    this.backend.resume();
  }

  /**
   * Runs a backend-driven step (nothing of the transport is on the stack to
   * catch for us): whatever goes wrong becomes DEVICE_NEEDS_RESET, never an
   * exception in the hv's event loop.
   */
  private safely(step: () => void): void {
    try {
      step();
    } catch (e) {
      this.live = false;
      this.transport?.needsReset(`device failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private linkChanged(up: boolean): void {
    this.config.set('status', up ? VIRTIO_NET_S_LINK_UP : 0);
    this.transport?.configChanged();
  }
}

/** A virtio-net device on the MMIO bus. Closing it closes the backend and the pcap. */
export function createNetDevice(backend: NetBackend, wiring: DeviceWiring, options: NetDeviceOptions): { device: VirtioMmioDevice; model: NetModel } {
  const model = new NetModel(backend, options);
  const device = new VirtioMmioDevice('net', model, wiring, {
    ...(options.eventIdx === undefined ? {} : { eventIdx: options.eventIdx }),
    close: async () => {
      try {
        await backend.close();
      } finally {
        options.pcap?.close();
      }
    },
  });
  return { device, model };
}
