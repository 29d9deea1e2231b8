/**
 * The kernel's network device at the frame level: what programs get from
 * `netDevices()` and what the network stack will be wired to. Its shape is
 * netchannel's Link (mac, mtu, transmit(frame, offset, length),
 * setReceiver({ receiveFrame })), so the stack can use a device directly.
 * Frames are whole Ethernet frames (header and payload, no FCS).
 */

/** Receives frames in the receive path (interrupt or poller context). */
export interface NetReceiver {
  /**
   * One frame in `frame[offset, offset+length)`; the bytes are valid only
   * during the call (they are the driver's receive buffer in guest memory):
   * copy what you keep. Must not throw (an exception is dropped).
   */
  receiveFrame(frame: Uint8Array, offset: number, length: number): void;
}

/**
 * The network stack's packet pool, as far as a driver receiving straight
 * into it needs it (netchannel's MbufPool has this shape). `bytes` must be a
 * view of guest memory: the driver posts `bytes.byteOffset + storage(m)` as
 * a guest-physical address.
 */
export interface RxMbufPool {
  /** The pool's region; mbuf offsets index it. */
  readonly bytes: Uint8Array;
  /** A free mbuf (its storage is the driver's until handed over or freed), or -1 when none is free. */
  alloc(headroom?: number): number;
  /** Returns an mbuf the driver took and did not hand over. */
  free(m: number): void;
  /** Offset in `bytes` where mbuf `m`'s storage begins. */
  storage(m: number): number;
  /** Sets `m`'s data window (offset in `bytes`, length). */
  setData(m: number, off: number, len: number): void;
}

/** Zero-copy receive into a network stack's mbufs (see NetDevice.setMbufReceiver). */
export interface MbufReceiver {
  readonly pool: RxMbufPool;
  /** Bytes of storage per mbuf (netchannel's MBUF_SIZE). */
  readonly mbufBytes: number;
  /** Takes mbuf `m`, whose data window holds one whole Ethernet frame; owns it from then on. Must not throw. */
  inputMbuf(m: number): void;
}

/** Receive counters of a device. */
export interface NetRxStats {
  /** Frames handed over in the mbuf the device wrote (no copy). */
  zeroCopy: number;
  /**
   * Frames that came in several receive buffers (VIRTIO_NET_F_MRG_RXBUF) and
   * were gathered into the first one: their tail bytes copied, whichever way
   * they were then handed on (not counted in zeroCopy).
   */
  merged: number;
  /** Frames copied out of a driver buffer (a receiver or receive() waiter, or a buffer posted before the stack came). */
  copied: number;
  /** Frames dropped: too short to be Ethernet, or spanning buffers with a bad num_buffers or more bytes than a buffer holds. */
  dropped: number;
  /** Times a receive slot stayed empty because the pool had no free mbuf (refilled later). */
  refillFailures: number;
}

/** Linux errno values transmit() returns, negated. */
export const NET_ERRNO = {
  EINVAL: 22,
  EMSGSIZE: 90,
  ENETDOWN: 100,
  ENOBUFS: 105,
} as const;

/** A network interface. */
export interface NetDevice {
  /** Kernel name: eth0, eth1, ... in probe order. */
  readonly name: string;
  /** MAC address, 6 bytes. */
  readonly mac: Uint8Array;
  /** Largest Ethernet payload, bytes (1500 on plain Ethernet). */
  readonly mtu: number;
  /** Whether the link is up (a peer is there); changes arrive as configuration interrupts. */
  readonly linkUp: boolean;
  /**
   * Sends the frame in `frame[offset, offset+length)` (all of `frame` by
   * default); the bytes are copied before it returns. Returns 0, or a
   * negative errno: -EMSGSIZE (shorter than an Ethernet header or longer
   * than the MTU allows), -ENETDOWN (link down), -ENOBUFS (every transmit
   * buffer is in flight). Never throws.
   */
  transmit(frame: Uint8Array, offset?: number, length?: number): number;
  /**
   * True when the device computes TCP/UDP checksums for `transmitOffload`
   * (VIRTIO_NET_F_CSUM negotiated): netchannel's Link capability.
   */
  readonly txChecksumOffload: boolean;
  /**
   * Largest frame (Ethernet header included) `transmitOffload` takes with a
   * `gsoSize`, for the device to segment (VIRTIO_NET_F_HOST_TSO4
   * negotiated); 0 when it cannot. netchannel's Link capability.
   */
  readonly tsoMaxBytes: number;
  /**
   * Sends a frame like transmit(), with the device asked to compute the
   * Internet checksum over `[csumStart, length)` of the frame and store it at
   * `csumStart + csumOffset` (the field holds the pseudo-header sum). With
   * `gsoSize` > 0 the frame is one TCP/IPv4 packet of up to `tsoMaxBytes`
   * that the device cuts into segments of `gsoSize` payload bytes, each
   * with its own checksums. Returns 0, or the negative errnos of transmit(),
   * or -EINVAL when the offsets do not lie in the frame or the offload was
   * not negotiated. Never throws.
   */
  transmitOffload(frame: Uint8Array, offset: number, length: number, csumStart: number, csumOffset: number, gsoSize?: number): number;
  /**
   * Zero-copy receive: from now on the driver posts mbufs of `r.pool` as
   * receive buffers and hands each received frame to `r.inputMbuf` in the
   * mbuf the device wrote. Frames already received go to the receiver
   * (copied) and the device is reset once, so every receive slot holds an
   * mbuf from then on. When the pool runs dry, fewer buffers stay posted and
   * the poller refills them as mbufs come back. null stops it (posted mbufs
   * are freed as they come back). Returns false, changing nothing, when the
   * pool is not in this device's guest memory, its mbufs cannot hold an
   * MTU-sized frame with the virtio header, or mbufs of another pool are
   * still posted.
   */
  setMbufReceiver(r: MbufReceiver | null): boolean;
  /** Receive counters. */
  readonly rxStats: NetRxStats;
  /** mbufs of the stack's pool posted as receive buffers right now (in use in the pool, owned by the device). */
  readonly postedMbufs: number;
  /**
   * Installs the one receiver of incoming frames (null removes it). While
   * one is installed the I/O poller keeps the receive ring drained.
   */
  setReceiver(receiver: NetReceiver | null): void;
  /**
   * The next frame not taken by a receiver, as a copy; null after
   * `timeoutMs` (default: wait for ever) without one.
   */
  receive(timeoutMs?: number): Promise<Uint8Array | null>;
}
