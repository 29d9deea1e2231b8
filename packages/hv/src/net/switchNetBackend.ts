/**
 * `--net switch:NAME`: the device is a port of the in-process learning switch
 * NAME (switchHub.ts), shared by every device of the hv's Machines that names
 * it. Frames are handed over synchronously, in the sender's call.
 *
 * Link status: up from open to close, whether or not another port is there —
 * a cable into a powered switch has link even when nothing else is plugged
 * in, and a guest's link then does not flap (and restart DHCP and the like)
 * as other machines come and go.
 *
 * While the device has paused the port (no receive buffers), frames wait in
 * a bounded queue; beyond it they are dropped, as a switch drops at a
 * congested egress port. Sending never blocks: the port is never congested.
 */
import type { NetBackend, NetBackendEvents } from '../devices/netBackend.js';
import { HvError } from '../errors.js';
import { DeviceFeed } from './deviceFeed.js';
import { SwitchHub, type SwitchPort } from './switchHub.js';

/** Frames held for a paused device. */
const HELD_FRAMES = 256;
/** Ethernet header plus one VLAN tag on top of the MTU. */
const FRAME_OVERHEAD = 18;

/** One port of a named switch. */
export class SwitchNetBackend implements NetBackend, SwitchPort {
  readonly description: string;
  /** The switch this port is plugged into. */
  readonly hub: SwitchHub;
  /** Frames dropped because the device was paused and the queue full, or after close. */
  dropped = 0;
  private readonly feed: DeviceFeed;
  private open = true;

  /**
   * Plugs a new port into switch `name` (made on first use).
   * @param mtu the device's MTU, which sizes the queue for a paused device (default 1500)
   * @throws HvError BAD_OPTION for an empty or comma-containing name
   */
  constructor(name: string, mtu = 1500) {
    if (!/^[^,\s]+$/.test(name)) throw new HvError('BAD_OPTION', `--net switch:${name}: a switch name is one word without commas or spaces (e.g. switch:lan0)`);
    this.description = `switch:${name}`;
    this.feed = new DeviceFeed(mtu + FRAME_OVERHEAD, HELD_FRAMES);
    this.hub = SwitchHub.named(name);
    this.hub.join(this);
  }

  get linkUp(): boolean {
    return this.open;
  }

  get congested(): boolean {
    return false;
  }

  attach(events: NetBackendEvents): void {
    this.feed.attach(events);
  }

  send(frame: Uint8Array, offset: number, length: number): boolean {
    if (!this.open) {
      this.dropped++;
      return false;
    }
    this.hub.input(this, frame, offset, length);
    return true;
  }

  flush(): void {}

  pause(): void {
    this.feed.pause();
  }

  resume(): void {
    this.feed.resume();
  }

  /** SwitchPort: a frame for this port's device. */
  deliver(frame: Uint8Array, offset: number, length: number): void {
    if (!this.feed.deliver(frame, offset, length)) this.dropped++;
  }

  /** Unplugs the port. */
  close(): Promise<void> {
    if (this.open) {
      this.open = false;
      this.hub.leave(this);
    }
    return Promise.resolve();
  }
}

/**
 * The switch name in a `--net` backend value "switch:NAME", or null when the
 * value names another backend.
 */
export function switchName(backend: string): string | null {
  return backend.startsWith('switch:') ? backend.slice('switch:'.length) : null;
}
