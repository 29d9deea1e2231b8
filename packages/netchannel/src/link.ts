/**
 * The link layer the stack drives: something that carries Ethernet frames. The
 * virtio-net driver, the hv's network backends, createLinkPair and the
 * impairment shim implement it.
 */

/** Receives frames from a link. */
export interface LinkReceiver {
  /**
   * One Ethernet frame (header and payload, no FCS) in `frame[offset,
   * offset+length)`. The bytes are valid only during the call: the receiver
   * copies what it keeps. May be called from inside the receiver's own
   * transmit (a synchronous link); receivers must tolerate that.
   */
  receiveFrame(frame: Uint8Array, offset: number, length: number): void;
}

/** A network link that sends and receives Ethernet frames. */
export interface Link {
  /** This end's MAC address, 6 bytes. */
  readonly mac: Uint8Array;
  /** Largest Ethernet payload the link carries, bytes (1500 for plain Ethernet). */
  readonly mtu: number;
  /**
   * Shortest frame (without FCS) the medium carries, bytes; the stack pads
   * shorter frames with zeros up to it. Omitted or 0: frames go out at their
   * real length. Padding is the medium's business, not the protocol's (RFC
   * 894: receivers take the IP length from the IP header), so virtual links
   * (virtio-net, passt, tap) leave it out, as Linux does on virtio-net; a
   * link that emulates a real 802.3 segment may set 60.
   */
  readonly minFrameLength?: number;
  /**
   * True when the link fills in TCP and UDP checksums itself (virtio-net's
   * VIRTIO_NET_F_CSUM): the stack then leaves them partial and sends such
   * frames through `transmitOffload`. Read when the link is attached (to turn
   * partial checksums on) and again for every frame (a link may lose the
   * capability, e.g. when its device renegotiates; the stack then completes
   * the checksum in software). Omitted or false: the stack computes every
   * checksum, as it does for createLinkPair and the impairment shim.
   */
  readonly txChecksumOffload?: boolean;
  /**
   * TCP segmentation offload (virtio-net's VIRTIO_NET_F_HOST_TSO4): the
   * largest frame, bytes with its Ethernet header, the link accepts through
   * `transmitOffload` with a `gsoSize` — one IPv4/TCP packet longer than the
   * MTU that the link cuts into MTU-sized segments (headers copied, IPv4
   * length, id and checksum and the TCP sequence number and checksum set per
   * segment, FIN and PSH on the last only, CWR on the first only). Only used
   * while `txChecksumOffload` is true, and read for every super-segment (a
   * device may lose the capability). Omitted or 0: the stack sends only
   * MTU-sized frames, as over createLinkPair, the impairment shim and
   * loopback.
   */
  readonly tsoMaxBytes?: number;
  /**
   * Sends one frame like `transmit`, asking the link to compute the Internet
   * checksum over `frame[offset+csumStart, offset+length)` and store it at
   * `offset+csumStart+csumOffset` (virtio-net's NEEDS_CSUM with csum_start and
   * csum_offset; the field already holds the folded pseudo-header sum over
   * the whole packet). Only called while `txChecksumOffload` is true. With
   * `gsoSize` > 0 (only while `tsoMaxBytes` allows the length) the frame is
   * an IPv4/TCP super-segment to be cut into segments of `gsoSize` payload
   * bytes (virtio-net's GSO_TCPV4 with gso_size), each checksummed. Returns 0
   * or a negative errno, -EINVAL for metadata outside the frame or a GSO
   * request the link cannot honour. Never throws.
   */
  transmitOffload?(frame: Uint8Array, offset: number, length: number, csumStart: number, csumOffset: number, gsoSize?: number): number;
  /**
   * Sends one frame held in `frame[offset, offset+length)`; the bytes are valid
   * only during the call. Returns 0 when the frame was accepted (it may still be
   * lost, as on any network) or a negative errno (-ENOBUFS when a queue is full,
   * -ENETDOWN when the link is down). Never throws.
   */
  transmit(frame: Uint8Array, offset: number, length: number): number;
  /** Installs the one receiver of incoming frames (null detaches). */
  setReceiver(receiver: LinkReceiver | null): void;
}
