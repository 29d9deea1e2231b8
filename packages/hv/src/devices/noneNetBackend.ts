/**
 * `--net none`: a network device with nothing behind it. The link is down,
 * sent frames are dropped (a pcap still records them) and nothing arrives,
 * so a guest's network driver can be exercised without a peer.
 */
import type { NetBackend, NetBackendEvents } from './netBackend.js';

/** A backend with no peer. */
export class NoneNetBackend implements NetBackend {
  readonly description = 'none';
  readonly linkUp = false;
  readonly congested = false;
  /** Frames the guest sent into the void. */
  dropped = 0;

  attach(_events: NetBackendEvents): void {}

  send(): boolean {
    this.dropped++;
    return false;
  }

  flush(): void {}
  pause(): void {}
  resume(): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }
}
