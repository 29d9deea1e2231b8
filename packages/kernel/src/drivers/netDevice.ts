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
