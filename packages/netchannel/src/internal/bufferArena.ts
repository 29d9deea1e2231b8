/**
 * A buddy allocator for socket buffers inside the stack's packet memory. Socket
 * send and receive rings live in the same ArrayBuffer as the mbufs, so every
 * packet copy is a `copyWithin` (a memmove, no allocation). Allocation happens
 * per connection, never per packet, so free lists are plain Sets.
 */

/** Smallest block, bytes (2^12). */
export const ARENA_MIN_ORDER = 12;

/** Power-of-two blocks carved from `[start, start + size)` of the pool's bytes. */
export class BufferArena {
  private readonly free: Set<number>[] = [];
  private readonly freeOrder = new Map<number, number>();
  private readonly used = new Map<number, number>();
  private readonly start: number;
  private readonly end: number;
  /** Bytes currently allocated (block sizes, after rounding). */
  bytesInUse = 0;

  /** Manages `[start, start + size)`; offsets returned are absolute in the pool's bytes. */
  constructor(start: number, size: number) {
    this.start = start;
    this.end = start + size;
    for (let o = 0; o <= 40; o++) this.free.push(new Set());
    // Carve the region into maximal blocks aligned relative to `start`.
    let pos = 0;
    while (size - pos >= 1 << ARENA_MIN_ORDER) {
      let order = ARENA_MIN_ORDER;
      while (order < 40 && pos % 2 ** (order + 1) === 0 && pos + 2 ** (order + 1) <= size) order++;
      this.insert(start + pos, order);
      pos += 2 ** order;
    }
  }

  /** Total bytes the arena manages. */
  get capacity(): number {
    return this.end - this.start;
  }

  /** Block size that `bytes` rounds up to (a power of two ≥ 4 KiB). */
  static blockSize(bytes: number): number {
    return 2 ** orderFor(bytes);
  }

  /** Allocates a block of at least `bytes`; returns its offset, or -1 when memory is exhausted. */
  alloc(bytes: number): number {
    const want = orderFor(bytes);
    let order = want;
    while (order < this.free.length && this.free[order]!.size === 0) order++;
    if (order >= this.free.length) return -1;
    const off = this.take(order);
    // Split down to the wanted order, returning the upper halves.
    while (order > want) {
      order--;
      this.insert(off + 2 ** order, order);
    }
    this.used.set(off, want);
    this.bytesInUse += 2 ** want;
    return off;
  }

  /** Frees a block returned by alloc. Throws RangeError for an offset it did not hand out (a bug). */
  release(off: number): void {
    const order0 = this.used.get(off);
    if (order0 === undefined) throw new RangeError(`arena: free of unallocated offset ${off}`);
    this.used.delete(off);
    this.bytesInUse -= 2 ** order0;
    let order = order0;
    let block = off;
    for (;;) {
      const rel = block - this.start;
      const buddy = this.start + (rel ^ 2 ** order);
      if (this.freeOrder.get(buddy) !== order) break;
      this.remove(buddy, order);
      block = Math.min(block, buddy);
      order++;
    }
    this.insert(block, order);
  }

  private insert(off: number, order: number): void {
    this.free[order]!.add(off);
    this.freeOrder.set(off, order);
  }

  private remove(off: number, order: number): void {
    this.free[order]!.delete(off);
    this.freeOrder.delete(off);
  }

  private take(order: number): number {
    const set = this.free[order]!;
    const off = set.values().next().value as number;
    this.remove(off, order);
    return off;
  }
}

function orderFor(bytes: number): number {
  let order = ARENA_MIN_ORDER;
  while (2 ** order < bytes) order++;
  return order;
}
