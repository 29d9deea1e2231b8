/**
 * The gateway stack's end of the user network's wire: a netchannel `Link`
 * whose transmit runs each frame through the translator's egress and hands it
 * to the network device (the backend's `frame` event). While the device has
 * paused the backend (no room for frames), frames wait in a bounded queue;
 * when that fills they are dropped, as a full NIC ring drops, and TCP
 * retransmits.
 */
import type { NetBackendEvents } from '../devices/netBackend.js';
import { DeviceFeed } from './deviceFeed.js';
import { NET_ERRNO, type Link, type LinkReceiver } from './netchannel.js';

/** Frames held while the device is paused. */
const HELD_FRAMES = 512;
/** Ethernet header bytes on top of the MTU. */
const ETH_HLEN = 14;

/** The gateway stack's link to the guest. */
export class GatewayLink implements Link {
  readonly mac: Uint8Array;
  readonly mtu: number;
  /** Frames dropped because the device was paused and the queue full. */
  dropped = 0;
  /** The gateway stack (the frames the guest sends go to it). */
  receiver: LinkReceiver | null = null;
  private readonly scratch: Uint8Array;
  private readonly feed: DeviceFeed;

  /** `egress` rewrites a frame in place and returns false to drop it. */
  constructor(mac: Uint8Array, mtu: number, private readonly egress: (b: Uint8Array, o: number, len: number) => boolean) {
    this.mac = mac;
    this.mtu = mtu;
    this.scratch = new Uint8Array(mtu + ETH_HLEN);
    this.feed = new DeviceFeed(mtu + ETH_HLEN, HELD_FRAMES);
  }

  /** Link: a frame from the gateway stack, translated (in a copy) and sent to the guest. */
  transmit(frame: Uint8Array, offset: number, length: number): number {
    if (length > this.scratch.length || offset < 0 || offset + length > frame.length) return -NET_ERRNO.EMSGSIZE;
    const s = this.scratch;
    s.set(frame.subarray(offset, offset + length));
    if (!this.egress(s, 0, length)) return 0;
    return this.toGuest(s, 0, length);
  }

  setReceiver(receiver: LinkReceiver | null): void {
    this.receiver = receiver;
  }

  /** Sends a frame to the guest now, or holds it while the device is paused. Returns 0 or -ENOBUFS. */
  toGuest(b: Uint8Array, o: number, len: number): number {
    if (this.feed.deliver(b, o, len)) return 0;
    this.dropped++;
    return -NET_ERRNO.ENOBUFS;
  }

  /** The device is attached: frames may flow. */
  attach(events: NetBackendEvents): void {
    this.feed.attach(events);
  }

  /** Holds frames until resume(). */
  pause(): void {
    this.feed.pause();
  }

  /** Delivers held frames, then new ones straight away. */
  resume(): void {
    this.feed.resume();
  }

  /** Frames waiting for the device. */
  get heldFrames(): number {
    return this.feed.heldFrames;
  }
}
