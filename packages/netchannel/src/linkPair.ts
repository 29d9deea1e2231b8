/**
 * Two links joined back to back in one process, like a crossover cable: a
 * frame sent on one end is handed synchronously to the other end's receiver.
 */
import type { Link, LinkReceiver } from './link.js';
import { ETHERMTU } from './internal/wire/ethernet.js';

/** Options of createLinkPair. */
export interface LinkPairOptions {
  /** MAC address of end A (default 02:00:00:00:00:01). */
  readonly macA?: Uint8Array;
  /** MAC address of end B (default 02:00:00:00:00:02). */
  readonly macB?: Uint8Array;
  /** MTU of both ends, bytes (default 1500). */
  readonly mtu?: number;
  /** Link.minFrameLength of both ends (default: none, frames go at their real length). */
  readonly minFrameLength?: number;
}

class PairEnd implements Link {
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly minFrameLength?: number;
  peer: PairEnd | null = null;
  receiver: LinkReceiver | null = null;

  constructor(mac: Uint8Array, mtu: number, minFrameLength: number | undefined) {
    this.mac = mac;
    this.mtu = mtu;
    if (minFrameLength !== undefined) this.minFrameLength = minFrameLength;
  }

  transmit(frame: Uint8Array, offset: number, length: number): number {
    const r = this.peer?.receiver;
    if (r) r.receiveFrame(frame, offset, length);
    return 0;
  }

  setReceiver(receiver: LinkReceiver | null): void {
    this.receiver = receiver;
  }
}

/**
 * Creates two connected links. Delivery is synchronous: the receiving stack
 * sees the frame before `transmit` returns (netchannel stacks defer re-entrant
 * work, so this is safe between two of them). Wrap either end in impairLink
 * for loss, delay and the rest.
 */
export function createLinkPair(options: LinkPairOptions = {}): [Link, Link] {
  const mtu = options.mtu ?? ETHERMTU;
  const a = new PairEnd(options.macA ?? Uint8Array.of(2, 0, 0, 0, 0, 1), mtu, options.minFrameLength);
  const b = new PairEnd(options.macB ?? Uint8Array.of(2, 0, 0, 0, 0, 2), mtu, options.minFrameLength);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
