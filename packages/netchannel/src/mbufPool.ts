/**
 * Packet memory: one ArrayBuffer or SharedArrayBuffer region (guest memory in
 * the kernel) carved into fixed-size mbufs for frames, plus an arena for socket
 * buffers. mbufs are small integers; their data offset, length and chain link
 * live in typed arrays, so moving a packet through the stack allocates nothing.
 * Owned by the stack's thread.
 */
import { BufferArena } from './internal/bufferArena.js';
import { NetError } from './errors.js';

/** Bytes of storage per mbuf: a full Ethernet frame plus headroom. */
export const MBUF_SIZE = 2048;
/** Bytes left free in front of transmitted data for headers to be prepended. */
export const MBUF_HEADROOM = 64;

/** Where the pool lives and how it is split. */
export interface MbufPoolOptions {
  /** Backing memory; default a fresh ArrayBuffer of `byteLength`. */
  readonly memory?: ArrayBuffer | SharedArrayBuffer;
  /** Start of the region within `memory`, bytes (default 0). */
  readonly byteOffset?: number;
  /** Region length, bytes (default: the rest of `memory`, or 32 MiB for a fresh buffer). */
  readonly byteLength?: number;
  /** Number of mbufs (default: a quarter of the region / MBUF_SIZE); the rest is socket-buffer arena. */
  readonly mbufCount?: number;
}

/**
 * The mbuf allocator and the socket-buffer arena over one memory region. Data
 * offsets are indices into `bytes`; a driver that posts mbufs to a device adds
 * `byteOffset` (and the region's guest-physical base) to get an address.
 */
export class MbufPool {
  /** The whole region as bytes; every mbuf offset indexes this array. */
  readonly bytes: Uint8Array;
  /** Offset of the region within its memory, bytes. */
  readonly byteOffset: number;
  /** Number of mbufs. */
  readonly capacity: number;
  /** The socket-buffer arena (internal; exposed for accounting). */
  readonly arena: BufferArena;
  private readonly dataOff: Int32Array;
  private readonly dataLen: Int32Array;
  private readonly nextM: Int32Array;
  private readonly freeStack: Int32Array;
  private readonly isFree: Uint8Array;
  /**
   * 1 while the mbuf holds an IPv4 TCP or UDP packet whose transport checksum
   * field holds only the folded pseudo-header sum (Linux's CHECKSUM_PARTIAL):
   * the link fills it in (virtio-net NEEDS_CSUM), or the interface completes
   * it in software before the frame leaves. Cleared by alloc.
   */
  private readonly partial: Uint8Array;
  private freeTop: number;
  /** Times alloc found no free mbuf (the caller dropped a packet). */
  allocFailures = 0;
  /** Most mbufs ever in use at once. */
  highWater = 0;

  /** Carves the region. Throws NetError EINVAL when it cannot hold one mbuf. */
  constructor(options: MbufPoolOptions = {}) {
    const memory = options.memory ?? new ArrayBuffer(options.byteLength ?? 32 * 1024 * 1024);
    const byteOffset = options.byteOffset ?? 0;
    const byteLength = options.byteLength ?? memory.byteLength - byteOffset;
    const count = options.mbufCount ?? Math.floor(byteLength / 4 / MBUF_SIZE);
    if (count < 1 || count * MBUF_SIZE > byteLength || byteOffset < 0 || byteOffset + byteLength > memory.byteLength) {
      throw new NetError('EINVAL', `mbuf pool: region of ${byteLength} bytes cannot hold ${count} mbufs — give more memory`);
    }
    this.bytes = new Uint8Array(memory, byteOffset, byteLength);
    this.byteOffset = byteOffset;
    this.capacity = count;
    this.dataOff = new Int32Array(count);
    this.dataLen = new Int32Array(count);
    this.nextM = new Int32Array(count).fill(-1);
    this.freeStack = new Int32Array(count);
    this.isFree = new Uint8Array(count).fill(1);
    this.partial = new Uint8Array(count);
    for (let i = 0; i < count; i++) this.freeStack[i] = count - 1 - i;
    this.freeTop = count;
    const arenaStart = count * MBUF_SIZE;
    this.arena = new BufferArena(arenaStart, byteLength - arenaStart);
  }

  /** mbufs currently allocated: the leak counter tests check. */
  get inUse(): number {
    return this.capacity - this.freeTop;
  }

  /**
   * Takes a free mbuf with its data offset at `headroom` bytes into its storage
   * and length 0. Returns -1 when none is free (the caller drops the packet).
   */
  alloc(headroom = MBUF_HEADROOM): number {
    if (this.freeTop === 0) {
      this.allocFailures++;
      return -1;
    }
    const m = this.freeStack[--this.freeTop]!;
    this.isFree[m] = 0;
    this.dataOff[m] = m * MBUF_SIZE + headroom;
    this.dataLen[m] = 0;
    this.nextM[m] = -1;
    this.partial[m] = 0;
    const used = this.capacity - this.freeTop;
    if (used > this.highWater) this.highWater = used;
    return m;
  }

  /** Returns one mbuf (not its chain). Throws Error on a double free: that is a stack bug. */
  free(m: number): void {
    if (this.isFree[m] !== 0) throw new Error(`mbuf ${m} freed twice`);
    this.isFree[m] = 1;
    this.freeStack[this.freeTop++] = m;
  }

  /** Frees `m` and every mbuf chained after it. */
  freeChain(m: number): void {
    let cur = m;
    while (cur >= 0) {
      const n = this.nextM[cur]!;
      this.free(cur);
      cur = n;
    }
  }

  /** Offset in `bytes` of the first data byte. */
  off(m: number): number {
    return this.dataOff[m]!;
  }

  /** Data length, bytes. */
  len(m: number): number {
    return this.dataLen[m]!;
  }

  /** Sets the data window: offset within `bytes` and length; must stay inside the mbuf's storage. */
  setData(m: number, off: number, len: number): void {
    this.dataOff[m] = off;
    this.dataLen[m] = len;
  }

  /** Offset in `bytes` where the mbuf's storage begins. */
  storage(m: number): number {
    return m * MBUF_SIZE;
  }

  /** Whether `m`'s transport checksum is still partial (see the field's comment); the output path reads it. */
  csumPartial(m: number): boolean {
    return this.partial[m] === 1;
  }

  /** Marks `m`'s transport checksum partial (true) or complete (false). */
  setCsumPartial(m: number, partial: boolean): void {
    this.partial[m] = partial ? 1 : 0;
  }

  /** Next mbuf in the chain, or -1. */
  next(m: number): number {
    return this.nextM[m]!;
  }

  /** Links `n` (or -1) after `m`. */
  setNext(m: number, n: number): void {
    this.nextM[m] = n;
  }
}
