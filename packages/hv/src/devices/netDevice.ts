/**
 * virtio-net (virtio-v1.2 section 5.1) at the frame level: one receive and
 * one transmit queue, a MAC address, link status and an MTU, over a
 * NetBackend. Transmit checksum offload (VIRTIO_NET_F_CSUM) and TCP
 * segmentation offload (VIRTIO_NET_F_HOST_TSO4) are offered unless the
 * options turn offloads off (`offloads=csum` keeps only the checksum): a
 * frame whose header says NEEDS_CSUM gets its checksum computed here
 * (netChecksum.ts), and a GSO_TCPV4 frame of up to 64 KiB is cut into
 * MTU-sized TCP segments with their own headers and checksums
 * (tcpSegmentation.ts), before the backend sees it, so backends and the
 * pcap only ever see ordinary frames. No receive offloads (GUEST_CSUM,
 * GUEST_TSO4) are offered: every frame in either direction is a 12-byte
 * virtio_net_hdr (VERSION_1 layout) followed by the Ethernet frame.
 *
 * Receive (5.1.6.3, 5.1.6.4): without VIRTIO_NET_F_MRG_RXBUF a frame and its
 * header go in one receive chain (num_buffers 1). With it (offered unless
 * the options turn it off) a frame may span several chains: the device takes
 * chains off the ring until their writable bytes hold header and frame,
 * writes the header (num_buffers = chains used) at the start of the first and
 * the frame across them, and pushes every chain used, each with its own
 * length, before one flush moves the used index, so the driver never sees
 * part of a frame. While the ring runs dry mid-frame the chains taken stay
 * with the device and the frame stays queued until the guest posts more.
 *
 * Against a hostile guest: a transmit chain shorter than the header is a
 * protocol violation (DEVICE_NEEDS_RESET, as in QEMU). Frames shorter than
 * an Ethernet header or longer than the MTU allows (64 KiB and headers for
 * a GSO frame), headers asking for offloads that were not negotiated
 * (NEEDS_CSUM without CSUM, a gso_type other than TCPV4 or without
 * HOST_TSO4), NEEDS_CSUM with csum_start/csum_offset outside the frame, and
 * GSO frames whose headers, hdr_len, gso_size or checksum offsets do not
 * describe one plain TCP/IPv4 packet are dropped, counted and logged.
 * Without MRG_RXBUF a receive buffer too small for the frame is returned
 * with used length 0 and the frame dropped. With it, a receive chain with
 * fewer writable bytes than the header breaks the driver's side of
 * 5.1.6.3.1 (every buffer MUST hold the header; QEMU treats a chain without
 * writable buffers the same way): DEVICE_NEEDS_RESET. A frame that even a
 * whole ring of the guest's chains cannot hold (tiny chains, a tiny queue)
 * gives the chains back with used length 0 and is dropped and counted.
 * Received frames wait in a bounded FrameQueue while the guest has no
 * receive buffers (or is not yet, or no longer, DRIVER_OK); when it fills
 * the backend is paused.
 */
import {
  VIRTIO_ID_NET,
  VIRTIO_NET_CONFIG_LAYOUT,
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
import { ConfigSpace, VIRTQ_EMPTY, type DescriptorChain, type VirtioDeviceModel, type VirtioTransport, type VirtqueueDevice } from '@osv-ts/virtio/device';
import type { NetBackend } from './netBackend.js';
import type { PcapWriter } from './pcapWriter.js';
import { FrameQueue } from './frameQueue.js';
import { completeChecksum } from './netChecksum.js';
import { segmentTcp4, TSO_MAX_FRAME } from './tcpSegmentation.js';
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
  /**
   * Offer the offloads this device implements: true (default) VIRTIO_NET_F_CSUM
   * and VIRTIO_NET_F_HOST_TSO4; 'csum' only the checksum (for comparisons);
   * false none (`--net ...,offloads=on|csum|off`).
   */
  readonly offloads?: boolean | 'csum';
  /** Offer VIRTIO_NET_F_MRG_RXBUF, frames spanning several receive buffers (default true; not an offload: `offloads` leaves it alone). */
  readonly mergeableRxBuffers?: boolean;
}

/** Counters, for tests and diagnostics. */
export interface NetStats {
  txFrames: number;
  txDropped: number;
  rxFrames: number;
  rxDropped: number;
  /** Received frames that spanned more than one receive chain (MRG_RXBUF); also counted in rxFrames. */
  rxMerged: number;
  /** Transmitted frames whose checksum the device computed (NEEDS_CSUM). */
  txChecksummed: number;
  /** Transmitted frames dropped for offload metadata (not negotiated, or out of range). */
  txBadOffload: number;
  /** GSO frames (VIRTIO_NET_HDR_GSO_TCPV4) the device segmented; each segment also counts in txFrames or txDropped. */
  txTso: number;
  /** Segments those GSO frames were cut into. */
  txTsoSegments: number;
}

/** The virtio-net device model. */
export class NetModel implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_NET;
  readonly features: bigint;
  readonly queueCount = 2;
  readonly configSize = VIRTIO_NET_CONFIG_LAYOUT.SIZE;
  readonly stats: NetStats = { txFrames: 0, txDropped: 0, rxFrames: 0, rxDropped: 0, rxMerged: 0, txChecksummed: 0, txBadOffload: 0, txTso: 0, txTsoSegments: 0 };
  readonly mtu: number;
  private readonly maxFrame: number;
  private readonly config = new ConfigSpace(VIRTIO_NET_CONFIG_LAYOUT);
  private readonly hdr = new Uint8Array(HDR.SIZE);
  private readonly rxHdr = new Uint8Array(HDR.SIZE);
  /** The header of a frame spanning chains (MRG_RXBUF): num_buffers is set per frame. */
  private readonly mrgHdr = new Uint8Array(HDR.SIZE);
  /**
   * The chains taken for the oldest held frame under MRG_RXBUF (heads, bytes
   * written into each), not yet pushed used: at most a queue's worth, so the
   * arrays are sized for the largest queue once. `rxFirst` is the first
   * chain's cursor (its own, since q.chain moves on to the next ones), made
   * when the receive queue becomes ready; `rxHeldQueue` the queue they came
   * from (a reset drops them with the queue: the guest reclaims its buffers).
   */
  private readonly rxHeads = new Uint16Array(NET_QUEUE_SIZE);
  private readonly rxLens = new Uint32Array(NET_QUEUE_SIZE);
  private rxHeld = 0;
  /** Bytes of header and frame written into the held chains. */
  private rxWritten = 0;
  private rxFirst: DescriptorChain | null = null;
  private rxHeldQueue: VirtqueueDevice | null = null;
  private readonly txFrame: Uint8Array;
  /** Where a GSO frame is read before segmentation (TSO_MAX_FRAME bytes; empty when TSO is not offered). */
  private readonly tsoFrame: Uint8Array;
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
      featureBit(VIRTIO_NET_F_MAC) | featureBit(VIRTIO_NET_F_STATUS) | featureBit(VIRTIO_NET_F_MTU) | (options.offloads === false ? 0n : featureBit(VIRTIO_NET_F_CSUM)) |
      // HOST_TSO4 depends on CSUM (virtio-v1.2 §5.1.3.1): offered only with it.
      (tsoOffered(options) ? featureBit(VIRTIO_NET_F_HOST_TSO4) : 0n) |
      (options.mergeableRxBuffers === false ? 0n : featureBit(VIRTIO_NET_F_MRG_RXBUF));
    this.mtu = options.mtu ?? DEFAULT_MTU;
    this.maxFrame = this.mtu + ETH_HLEN + VLAN_HLEN;
    this.txFrame = new Uint8Array(this.maxFrame);
    this.tsoFrame = new Uint8Array(tsoOffered(options) ? TSO_MAX_FRAME : 0);
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

  queueReady(index: number, queue: VirtqueueDevice): void {
    if (index !== VIRTIO_NET_RECEIVEQ) return;
    this.forgetHeldChains();
    this.rxFirst = queue.createChain(); // setup time: the one allocation a merged frame needs
    this.rxHeldQueue = queue;
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
    this.forgetHeldChains();
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
    const gso = h[HDR.gso_type.offset]!;
    const tso = gso === VIRTIO_NET_HDR_GSO_TCPV4 && this.tsoFrame.length > 0 && this.transport?.hasFeature(VIRTIO_NET_F_HOST_TSO4) === true;
    const max = tso ? TSO_MAX_FRAME : this.maxFrame;
    if (gso !== VIRTIO_NET_HDR_GSO_NONE && !tso) return this.dropTx(`transmitted frame asks for segmentation offload (gso_type ${gso}), which was not negotiated; dropped`, true);
    if (length < ETH_HLEN || length > max) return this.dropTx(`transmitted frame of ${length} bytes is outside ${ETH_HLEN}..${max}; dropped`, false);
    const needsCsum = (h[HDR.flags.offset]! & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0;
    if (needsCsum && this.transport?.hasFeature(VIRTIO_NET_F_CSUM) !== true) return this.dropTx('transmitted frame asks for checksum offload, which was not negotiated; dropped', true);
    const start = h[HDR.csum_start.offset]! | (h[HDR.csum_start.offset + 1]! << 8); // le16
    const offset = h[HDR.csum_offset.offset]! | (h[HDR.csum_offset.offset + 1]! << 8); // le16
    if (tso) return this.sendTso(c, length, needsCsum, start, offset);
    c.read(this.txFrame, HDR.SIZE);
    if (needsCsum) {
      const bad = completeChecksum(this.txFrame, length, start, offset, ETH_HLEN);
      if (bad !== null) return this.dropTx(`transmitted frame's checksum offload: ${bad}; dropped`, true);
      this.stats.txChecksummed++;
    }
    this.pcap?.record(this.txFrame, 0, length);
    if (this.backend.send(this.txFrame, 0, length)) this.stats.txFrames++;
    else this.stats.txDropped++;
    return true;
  }

  /**
   * Segments the GSO_TCPV4 frame in chain `c` (its header already read into
   * `hdr`, `length` frame bytes after it) and sends every segment. Returns
   * true (the ring goes on); a frame that does not describe one TCP/IPv4
   * packet is dropped whole.
   */
  private sendTso(c: DescriptorChain, length: number, needsCsum: boolean, csumStart: number, csumOffset: number): boolean {
    // virtio-v1.2 §5.1.6.2: a GSO frame carries NEEDS_CSUM; the segments' checksums are computed here regardless.
    if (!needsCsum) return this.dropTx('transmitted TSO frame lacks NEEDS_CSUM; dropped', true);
    const h = this.hdr;
    c.read(this.tsoFrame.subarray(0, length), HDR.SIZE);
    const r = segmentTcp4(
      this.tsoFrame,
      {
        length,
        hdrLen: h[HDR.hdr_len.offset]! | (h[HDR.hdr_len.offset + 1]! << 8), // le16
        gsoSize: h[HDR.gso_size.offset]! | (h[HDR.gso_size.offset + 1]! << 8), // le16
        csumStart,
        csumOffset,
        mtu: this.mtu,
      },
      this.txFrame,
      this.sendSegment,
    );
    if (typeof r === 'string') return this.dropTx(`transmitted TSO frame: ${r}; dropped`, true);
    this.stats.txTso++;
    this.stats.txTsoSegments += r;
    return true;
  }

  /** One segment of a GSO frame (in txFrame): to the pcap and the backend. */
  private readonly sendSegment = (seg: Uint8Array, length: number): void => {
    this.pcap?.record(seg, 0, length);
    if (this.backend.send(seg, 0, length)) this.stats.txFrames++;
    else this.stats.txDropped++;
  };

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
    const healthy = this.transport!.hasFeature(VIRTIO_NET_F_MRG_RXBUF) ? this.deliverMerged(q) : this.deliverWhole(q);
    this.transport?.flush(VIRTIO_NET_RECEIVEQ);
    if (!healthy) this.live = false; // the queue broke or the guest broke 5.1.6.3.1 (DEVICE_NEEDS_RESET is set)
    if (this.rx.free >= RX_QUEUE_FRAMES / 2) this.resumeBackend();
  }

  /** Without MRG_RXBUF: one frame per chain, dropped when it does not fit. False when the queue broke. */
  private deliverWhole(q: VirtqueueDevice): boolean {
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
    return head >= VIRTQ_EMPTY;
  }

  /**
   * Under MRG_RXBUF: places held frames, each across as many chains as it
   * needs, until the frames or the chains run out. False when the queue
   * broke or a chain was a violation.
   */
  private deliverMerged(q: VirtqueueDevice): boolean {
    if (this.rxHeldQueue !== q || this.rxFirst === null) {
      // A queue the transport made without telling us: cannot happen through queueReady, but never write through a stale cursor.
      this.forgetHeldChains();
      this.rxFirst = q.createChain();
      this.rxHeldQueue = q;
    }
    const first = this.rxFirst;
    while (this.rx.count > 0) {
      const length = this.rx.oldestLength();
      const need = HDR.SIZE + length;
      // Loop bound: every chain taken adds at least HDR.SIZE bytes, and at most q.size chains are held.
      while (this.rxWritten < need) {
        if (this.rxHeld === q.size) {
          this.dropHeldFrame(q, length);
          break;
        }
        const c = this.rxHeld === 0 ? first : q.chain;
        const head = q.pop(c);
        if (head === VIRTQ_EMPTY) return true; // the frame and the chains taken so far wait for more
        if (head < 0) return false;
        if (c.writableBytes < HDR.SIZE) {
          this.transport?.needsReset(`receive chain at head ${head} has ${c.writableBytes} device-writable bytes, less than the ${HDR.SIZE}-byte virtio-net header every buffer must hold under VIRTIO_NET_F_MRG_RXBUF (5.1.6.3.1)`);
          return false;
        }
        // The first chain's header is written once the chain count is known; frame bytes go in now.
        // (The subarray is a view, allocated only for chains after the first.)
        const n = this.rxHeld === 0 ? HDR.SIZE + c.write(this.rx.oldest(), HDR.SIZE, length) : c.write(this.rx.oldest().subarray(this.rxWritten - HDR.SIZE, length));
        this.rxHeads[this.rxHeld] = head;
        this.rxLens[this.rxHeld] = n;
        this.rxHeld++;
        this.rxWritten += n;
      }
      if (this.rxHeld > 0) this.completeHeldFrame(q, first);
      this.rx.shift();
    }
    return true;
  }

  /** The held chains hold the oldest frame: header with num_buffers into the first, every chain pushed used. */
  private completeHeldFrame(q: VirtqueueDevice, first: DescriptorChain): void {
    const n = this.rxHeld;
    this.mrgHdr[HDR.num_buffers.offset] = n & 0xff; // le16; n <= the queue size <= NET_QUEUE_SIZE
    this.mrgHdr[HDR.num_buffers.offset + 1] = n >>> 8;
    first.write(this.mrgHdr);
    for (let i = 0; i < n; i++) q.pushUsed(this.rxHeads[i]!, this.rxLens[i]!);
    this.stats.rxFrames++;
    if (n > 1) this.stats.rxMerged++;
    this.rxHeld = 0;
    this.rxWritten = 0;
  }

  /** A whole queue of the guest's chains cannot hold the oldest frame: they go back empty (used length 0), the frame is dropped. */
  private dropHeldFrame(q: VirtqueueDevice, length: number): void {
    for (let i = 0; i < this.rxHeld; i++) q.pushUsed(this.rxHeads[i]!, 0);
    this.stats.rxDropped++;
    this.transport?.log(`${this.rxHeld} receive chains (${this.rxWritten} bytes, the whole queue) cannot hold a ${length}-byte frame and its header; frame dropped`);
    this.rxHeld = 0;
    this.rxWritten = 0;
  }

  /** Forgets chains taken for a frame (the queue is gone with a reset); the frame itself stays queued. */
  private forgetHeldChains(): void {
    this.rxHeld = 0;
    this.rxWritten = 0;
    this.rxHeldQueue = null;
    this.rxFirst = null;
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

/** Whether a device with these options offers VIRTIO_NET_F_HOST_TSO4: with every offload on, the default. */
function tsoOffered(options: NetDeviceOptions): boolean {
  return options.offloads === undefined || options.offloads === true;
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
