/**
 * Test support: a NetBackend the test drives by hand — it records what the
 * device sends, injects frames and link changes, and can be made congested.
 */
import type { NetBackend, NetBackendEvents } from '../devices/netBackend.js';

/** A scriptable network backend. */
export class FakeNetBackend implements NetBackend {
  readonly description = 'fake';
  linkUp = true;
  congested = false;
  paused = false;
  readonly sent: Uint8Array[] = [];
  private events: NetBackendEvents | null = null;

  attach(events: NetBackendEvents): void {
    this.events = events;
  }

  send(frame: Uint8Array, offset: number, length: number): boolean {
    if (!this.linkUp) return false;
    this.sent.push(frame.slice(offset, offset + length));
    return true;
  }

  flush(): void {}

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Delivers a frame as the peer would. */
  inject(frame: Uint8Array): void {
    this.events?.frame(frame, 0, frame.length);
  }

  /** Changes the link state as the peer would. */
  setLink(up: boolean): void {
    this.linkUp = up;
    this.events?.link(up);
  }

  /** Lifts congestion. */
  drain(): void {
    this.congested = false;
    this.events?.writable();
  }
}
