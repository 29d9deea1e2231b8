/**
 * Net channels, as OSv has them (Van Jacobson's idea): the receive path
 * classifies each TCP segment by its 4-tuple and, for an established flow with
 * a channel, pushes the packet onto that flow's single-producer single-consumer
 * ring and wakes the thread that owns the socket, which then runs TCP input
 * itself. Everything else — SYN/FIN/RST, fragments, non-TCP, unknown flows, a
 * full ring — takes the ordinary path through the stack's network thread.
 *
 * Producer: the receive path (interrupt context). Consumer: the owning thread.
 * Both run on the stack's vCPU: a JavaScript isolate cannot share the TCP
 * state itself with another, so the ring hands packets between threads of one
 * vCPU, not across vCPUs.
 */

/** Slots in a channel's ring (OSv's size). */
export const NET_CHANNEL_SLOTS = 256;

/**
 * Wakes the thread that owns a socket. The kernel implements it with sched
 * (make the owner runnable); by default the stack schedules the drain as a
 * promise job, which is how a standalone stack "runs the owner".
 */
export interface Waker {
  /** Makes the owner run soon; called from the receive path, so it must be cheap and must not run TCP itself. */
  wake(): void;
}

/** One flow's ring of mbufs. `owner` is whatever the consumer needs to process them (the connection). */
export class NetChannel<T = unknown> {
  /** Local address of the flow. */
  readonly laddr: number;
  /** Local port. */
  readonly lport: number;
  /** Remote address. */
  readonly faddr: number;
  /** Remote port. */
  readonly fport: number;
  /** The connection the segments belong to. */
  readonly owner: T;
  /** Who to wake after a push. */
  waker: Waker;
  /** Hash-chain link; owned by the classifier. */
  hashNext: NetChannel<T> | null = null;
  private readonly ring = new Int32Array(NET_CHANNEL_SLOTS);
  // head: next slot to pop (consumer writes); tail: next slot to fill (producer writes).
  private head = 0;
  private tail = 0;

  constructor(laddr: number, lport: number, faddr: number, fport: number, owner: T, waker: Waker) {
    this.laddr = laddr;
    this.lport = lport;
    this.faddr = faddr;
    this.fport = fport;
    this.owner = owner;
    this.waker = waker;
  }

  /** Packets waiting. */
  get size(): number {
    return this.tail - this.head;
  }

  /** Producer: appends mbuf `m`; false when the ring is full (the caller takes the ordinary path). */
  push(m: number): boolean {
    if (this.tail - this.head === NET_CHANNEL_SLOTS) return false;
    this.ring[this.tail & (NET_CHANNEL_SLOTS - 1)] = m;
    this.tail++;
    return true;
  }

  /** Consumer: removes the oldest mbuf, or returns -1 when empty. */
  pop(): number {
    if (this.head === this.tail) return -1;
    const m = this.ring[this.head & (NET_CHANNEL_SLOTS - 1)]!;
    this.head++;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
    }
    return m;
  }
}

/** The receive path's flow table: 4-tuple → channel, a chained hash with a per-stack random key. */
export class NetChannelClassifier<T = unknown> {
  private buckets: (NetChannel<T> | null)[] = new Array<NetChannel<T> | null>(64).fill(null);
  private count = 0;
  private readonly key: number;
  /** The switch: when false, lookup finds nothing and every packet takes the ordinary path. */
  enabled = true;

  /** `key` salts the hash so a peer cannot aim flows at one bucket. */
  constructor(key: number) {
    this.key = key | 0;
  }

  /** Number of channels. */
  get size(): number {
    return this.count;
  }

  /** Adds a channel; its 4-tuple must not be present already. */
  add(ch: NetChannel<T>): void {
    if (this.count >= this.buckets.length) this.grow();
    const b = this.bucket(ch.laddr, ch.lport, ch.faddr, ch.fport);
    ch.hashNext = this.buckets[b]!;
    this.buckets[b] = ch;
    this.count++;
  }

  /** Removes a channel if present. */
  remove(ch: NetChannel<T>): void {
    const b = this.bucket(ch.laddr, ch.lport, ch.faddr, ch.fport);
    let prev: NetChannel<T> | null = null;
    for (let c: NetChannel<T> | null = this.buckets[b]!; c !== null; c = c.hashNext) {
      if (c === ch) {
        if (prev === null) this.buckets[b] = c.hashNext;
        else prev.hashNext = c.hashNext;
        c.hashNext = null;
        this.count--;
        return;
      }
      prev = c;
    }
  }

  /** The channel of an exact 4-tuple, or null (also when switched off). */
  lookup(laddr: number, lport: number, faddr: number, fport: number): NetChannel<T> | null {
    if (!this.enabled || this.count === 0) return null;
    for (let c: NetChannel<T> | null = this.buckets[this.bucket(laddr, lport, faddr, fport)]!; c !== null; c = c.hashNext) {
      if (c.lport === lport && c.fport === fport && c.faddr === faddr && c.laddr === laddr) return c;
    }
    return null;
  }

  private bucket(laddr: number, lport: number, faddr: number, fport: number): number {
    let h = Math.imul(laddr ^ this.key, 0x9e3779b1);
    h = Math.imul(h ^ faddr ^ (h >>> 15), 0x85ebca77);
    h = Math.imul(h ^ ((lport << 16) | fport) ^ (h >>> 13), 0xc2b2ae3d);
    return (h ^ (h >>> 16)) & (this.buckets.length - 1);
  }

  private grow(): void {
    const old = this.buckets;
    this.buckets = new Array<NetChannel<T> | null>(old.length * 2).fill(null);
    this.count = 0;
    for (let c of old) {
      while (c !== null) {
        const next = c.hashNext;
        this.add(c);
        c = next;
      }
    }
  }
}
