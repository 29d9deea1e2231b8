/**
 * One descriptor chain the device popped, as a list of validated segments
 * copied out of guest memory at pop time: later changes the guest makes to
 * its descriptors cannot move a segment. Readable segments come first
 * (indices 0 .. readableCount-1), then writable ones (2.7.4.2). Reused across
 * pops: it allocates nothing.
 */

import type { GuestMemory } from '../core/guestMemory.js';
import { copyBytes } from '../internal/copyBytes.js';

/**
 * A reusable cursor over a popped chain's segments. Get one from
 * VirtqueueDevice.createChain() (or use VirtqueueDevice.chain) and pass it to
 * pop(); keep several when requests complete out of order.
 */
export class DescriptorChain {
  /** Most segments it can hold: the queue size it was made for. */
  readonly capacity: number;
  private readonly mem: Uint8Array;
  private readonly addrs: Float64Array;
  private readonly lens: Float64Array;
  private headId = -1;
  private n = 0;
  private nReadable = 0;
  private rBytes = 0;
  private wBytes = 0;

  /** @internal Built by VirtqueueDevice.createChain. */
  constructor(memory: GuestMemory, capacity: number) {
    this.capacity = capacity;
    this.mem = new Uint8Array(memory);
    this.addrs = new Float64Array(capacity);
    this.lens = new Float64Array(capacity);
  }

  /** Head descriptor id, to pass to pushUsed; -1 before the first pop. */
  get head(): number {
    return this.headId;
  }
  /** Number of segments. */
  get count(): number {
    return this.n;
  }
  /** Number of device-readable segments (they come first). */
  get readableCount(): number {
    return this.nReadable;
  }
  /** Number of device-writable segments (they follow the readable ones). */
  get writableCount(): number {
    return this.n - this.nReadable;
  }
  /** Total device-readable bytes. */
  get readableBytes(): number {
    return this.rBytes;
  }
  /** Total device-writable bytes. */
  get writableBytes(): number {
    return this.wBytes;
  }
  /** Guest physical address of segment `i` (inside guest memory). */
  segmentAddress(i: number): number {
    return this.addrs[i]!;
  }
  /** Length of segment `i`, bytes (1 .. 2^32-1). */
  segmentLength(i: number): number {
    return this.lens[i]!;
  }
  /** Whether segment `i` is device-writable. */
  isWritable(i: number): boolean {
    return i >= this.nReadable && i < this.n;
  }

  /**
   * Copies device-readable bytes, starting `offset` bytes into the readable
   * part, into `dst` (as much as fits). Returns the bytes copied.
   */
  read(dst: Uint8Array, offset = 0): number {
    return this.copy(dst, 0, dst.length, offset, 0, this.nReadable, false);
  }

  /**
   * Copies `length` bytes of `src` (all of it by default) into the
   * device-writable part, starting `offset` bytes into it; stops at the
   * chain's end. Returns the bytes written.
   */
  write(src: Uint8Array, offset = 0, length = src.length): number {
    return this.copy(src, 0, Math.min(length, src.length), offset, this.nReadable, this.n, true);
  }

  /** @internal Starts recording chain `head` (VirtqueueDevice.pop). */
  clear(head: number): void {
    this.headId = head;
    this.n = 0;
    this.nReadable = 0;
    this.rBytes = 0;
    this.wBytes = 0;
  }

  /** @internal Records one validated segment (VirtqueueDevice.pop); readable ones first. */
  append(addr: number, len: number, writable: boolean): void {
    const i = this.n;
    this.addrs[i] = addr;
    this.lens[i] = len;
    this.n = i + 1;
    if (writable) this.wBytes += len;
    else {
      this.nReadable = i + 1;
      this.rBytes += len;
    }
  }

  private copy(host: Uint8Array, hostOff: number, want: number, skip: number, from: number, to: number, toGuest: boolean): number {
    let done = 0;
    skip = skip > 0 ? Math.floor(skip) : 0; // NaN and negatives read from the start
    for (let i = from; i < to && done < want; i++) {
      const len = this.lens[i]!;
      if (skip >= len) {
        skip -= len;
        continue;
      }
      const n = Math.min(len - skip, want - done);
      const g = this.addrs[i]! + skip;
      if (toGuest) copyBytes(this.mem, g, host, hostOff + done, n);
      else copyBytes(host, hostOff + done, this.mem, g, n);
      done += n;
      skip = 0;
    }
    return done;
  }
}
