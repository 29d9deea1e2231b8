/**
 * The way from a backend to its network device: a frame is handed to the
 * device at once while it is attached and running, held in a bounded queue
 * while it has paused the backend (no receive buffers posted), and delivered
 * in order when it resumes. The user network's gateway link and a switch port
 * both feed their device through one.
 *
 * Frames are never reordered: while any are held, or while held frames are
 * being handed out (the device may send, and so deliver, from inside its
 * `frame` event), new ones queue behind them.
 */
import { FrameQueue } from '../devices/frameQueue.js';
import type { NetBackendEvents } from '../devices/netBackend.js';

/** Frames on their way to one network device. */
export class DeviceFeed {
  private readonly held: FrameQueue;
  private events: NetBackendEvents | null = null;
  private paused = false;
  private draining = false;

  /**
   * @param frameBytes longest frame held, bytes (Ethernet header and MTU)
   * @param frames most frames held while the device is paused or detached
   */
  constructor(frameBytes: number, frames: number) {
    this.held = new FrameQueue(frameBytes, frames);
  }

  /** Frames waiting for the device. */
  get heldFrames(): number {
    return this.held.count;
  }

  /** The device is attached: held frames go to it, and new ones straight away. */
  attach(events: NetBackendEvents): void {
    this.events = events;
    this.drain();
  }

  /** Holds frames until resume(). */
  pause(): void {
    this.paused = true;
  }

  /** Delivers held frames, then new ones straight away. */
  resume(): void {
    this.paused = false;
    this.drain();
  }

  /**
   * Hands the frame in `b[o, o+len)` to the device now, or copies it into the
   * queue. Returns false when it is dropped: the queue is full (as a full NIC
   * ring or a congested switch port drops) or the frame is longer than a slot.
   */
  deliver(b: Uint8Array, o: number, len: number): boolean {
    if (this.events !== null && !this.paused && this.held.count === 0 && !this.draining) {
      this.events.frame(b, o, len);
      return true;
    }
    return this.held.push(b, o, len);
  }

  private drain(): void {
    if (this.draining) return; // a frame handed out below led back here
    this.draining = true;
    try {
      const q = this.held;
      while (q.count > 0 && this.events !== null && !this.paused) {
        this.events.frame(q.oldest(), 0, q.oldestLength());
        q.shift();
      }
    } finally {
      this.draining = false;
    }
  }
}
