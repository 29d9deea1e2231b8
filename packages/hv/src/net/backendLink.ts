/**
 * A netchannel Link over a NetBackend: puts a NetStack where a virtio-net
 * device would be, so a backend can be driven by a real TCP/IP stack on the
 * host — the tests and benchmarks of the network backends do this instead of
 * booting a VM — and so the impairment shim can wrap any backend
 * (devices/impairedNetBackend.ts).
 */
import type { NetBackend, NetBackendEvents } from '../devices/netBackend.js';
import { NET_ERRNO, type Link, type LinkReceiver } from './netchannel.js';

/** A stack's link whose other end is a network backend. */
export class BackendLink implements Link {
  private receiver: LinkReceiver | null = null;
  /** Link status as the backend last reported it. */
  up: boolean;
  /** Frames the backend delivered. */
  framesIn = 0;

  /** `events` passes the backend's link changes and writable signals on (the impairment shim's device needs them). */
  constructor(
    readonly backend: NetBackend,
    readonly mac: Uint8Array,
    readonly mtu = 1500,
    events: Partial<Omit<NetBackendEvents, 'frame'>> = {},
  ) {
    this.up = backend.linkUp;
    backend.attach({
      frame: (data, offset, length) => {
        this.framesIn++;
        this.receiver?.receiveFrame(data, offset, length);
      },
      link: (up) => {
        this.up = up;
        events.link?.(up);
      },
      writable: () => events.writable?.(),
    });
  }

  transmit(frame: Uint8Array, offset: number, length: number): number {
    return this.backend.send(frame, offset, length) ? 0 : -NET_ERRNO.ENETDOWN;
  }

  setReceiver(receiver: LinkReceiver | null): void {
    this.receiver = receiver;
  }
}
