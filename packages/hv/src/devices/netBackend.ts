/**
 * What carries a virtio-net device's frames on the host side (DESIGN.md
 * section 3, network backends): `none` (no peer), `stream:PATH` (QEMU's
 * stream protocol over a UNIX socket, e.g. to passt), and later `user` and
 * `switch`. Frames are whole Ethernet frames without the virtio-net header
 * and without FCS.
 */

/** What a backend tells the device. */
export interface NetBackendEvents {
  /** A frame arrived in `data[offset, offset+length)`; the bytes are valid only during the call. */
  frame(data: Uint8Array, offset: number, length: number): void;
  /** The peer came or went: the device reports it as link status. */
  link(up: boolean): void;
  /** The backend is no longer congested: the device may send again. */
  writable(): void;
}

/** A network backend. */
export interface NetBackend {
  /** How `osv-run --net` names it, e.g. "stream:/tmp/passt.sock". */
  readonly description: string;
  /** Whether a peer is there to take frames. */
  readonly linkUp: boolean;
  /**
   * True while the backend holds more unsent bytes than it wants: the device
   * stops taking frames off the transmit ring (the guest's ring fills, which
   * is its backpressure) until `writable()`.
   */
  readonly congested: boolean;
  /** Connects the backend to its device. Called once, before any frame moves. */
  attach(events: NetBackendEvents): void;
  /**
   * Takes one frame to send; the bytes are valid only during the call.
   * Returns false when it was dropped (no peer).
   */
  send(frame: Uint8Array, offset: number, length: number): boolean;
  /** End of a burst of send(): push out what is queued. */
  flush(): void;
  /** Stop delivering frames (the device has no room for more). */
  pause(): void;
  /** Deliver frames again. */
  resume(): void;
  /** Disconnects and releases host resources. */
  close(): Promise<void>;
}
