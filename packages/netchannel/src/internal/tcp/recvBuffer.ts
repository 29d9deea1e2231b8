/**
 * A connection's receive buffer: a ring of bytes in the pool's arena. The
 * readable bytes sit at the head; out-of-order data is written straight to its
 * place further on (RCV.NXT maps to head + readable) and remembered as ranges,
 * which also feed SACK (RFC 2018 §4). No mbuf is held for out-of-order data, so
 * a hostile peer can pin no more than the window it was offered.
 * Owned by the connection's thread.
 */
import { copyBytes } from '../wire/bytes.js';

/** Most out-of-order ranges remembered; data in further ranges is dropped (the peer resends). */
export const MAX_OOO_RANGES = 16;

/** Byte ring for incoming data plus the out-of-order range list. */
export class RecvBuffer {
  private readonly bytes: Uint8Array;
  /** Start of the ring in `bytes` (arena offset); moves when the ring grows. */
  base: number;
  /** Ring size, bytes (a power of two). */
  cap: number;
  private head = 0;
  /** In-order bytes the application can read. */
  readable = 0;
  /** Out-of-order ranges as absolute sequence numbers [start, end), sorted by start. */
  private readonly oooStart = new Uint32Array(MAX_OOO_RANGES);
  private readonly oooEnd = new Uint32Array(MAX_OOO_RANGES);
  private readonly oooStamp = new Float64Array(MAX_OOO_RANGES);
  /** Number of out-of-order ranges. */
  nOoo = 0;
  private stamp = 0;

  constructor(bytes: Uint8Array, base: number, cap: number) {
    this.bytes = bytes;
    this.base = base;
    this.cap = cap;
  }

  /** Room beyond RCV.NXT, bytes: what the window may offer. */
  get space(): number {
    return this.cap - this.readable;
  }

  /** Copies `n` bytes from the pool's `src[srcOff..]` to sequence offset `rel` past RCV.NXT. Caller ensures rel + n ≤ space. */
  place(rel: number, src: Uint8Array, srcOff: number, n: number): void {
    let pos = (this.head + this.readable + rel) & (this.cap - 1);
    let done = 0;
    while (done < n) {
      const chunk = Math.min(n - done, this.cap - pos);
      copyBytes(this.bytes, this.base + pos, src, srcOff + done, chunk);
      done += chunk;
      pos = 0;
    }
  }

  /**
   * Makes `n` bytes just placed at RCV.NXT readable, then absorbs out-of-order
   * ranges that became contiguous. `rcvNxt` is RCV.NXT before the advance.
   * Returns the total advance of RCV.NXT (≥ n).
   */
  advance(n: number, rcvNxt: number): number {
    this.readable += n;
    let nxt = (rcvNxt + n) >>> 0;
    let total = n;
    while (this.nOoo > 0 && ((this.oooStart[0]! - nxt) | 0) <= 0) {
      const end = this.oooEnd[0]!;
      const extra = (end - nxt) | 0;
      if (extra > 0) {
        this.readable += extra;
        total += extra;
        nxt = end;
      }
      this.removeAt(0);
    }
    return total;
  }

  /** Drops ranges wholly at or below `rcvNxt` (after a trim). */
  pruneBelow(rcvNxt: number): void {
    while (this.nOoo > 0 && ((this.oooEnd[0]! - rcvNxt) | 0) <= 0) this.removeAt(0);
  }

  /**
   * Records [start, end) as received out of order, merging with neighbours.
   * `rcvNxt` orders the ranges. Returns false when the range list is full (the
   * data is then forgotten and will be resent).
   */
  addOoo(start: number, end: number, rcvNxt: number): boolean {
    let s = start;
    let e = end;
    const rs = (s - rcvNxt) >>> 0;
    // Find the first range whose end reaches s, then merge all that touch [s, e).
    let i = 0;
    while (i < this.nOoo && ((this.oooEnd[i]! - rcvNxt) >>> 0) < rs) i++;
    let j = i;
    while (j < this.nOoo && (((this.oooStart[j]! - rcvNxt) >>> 0) <= ((e - rcvNxt) >>> 0))) {
      if (((this.oooStart[j]! - rcvNxt) >>> 0) < ((s - rcvNxt) >>> 0)) s = this.oooStart[j]!;
      if (((this.oooEnd[j]! - rcvNxt) >>> 0) > ((e - rcvNxt) >>> 0)) e = this.oooEnd[j]!;
      j++;
    }
    const merged = j - i;
    if (merged === 0 && this.nOoo === MAX_OOO_RANGES) return false;
    // Replace ranges i..j-1 by one.
    if (merged === 0) {
      for (let k = this.nOoo; k > i; k--) this.moveRange(k - 1, k);
      this.nOoo++;
    } else if (merged > 1) {
      for (let k = j; k < this.nOoo; k++) this.moveRange(k, k - merged + 1);
      this.nOoo -= merged - 1;
    }
    this.oooStart[i] = s;
    this.oooEnd[i] = e;
    this.oooStamp[i] = ++this.stamp;
    return true;
  }

  /**
   * Writes up to `max` SACK blocks into `out` as [left, right, ...], the most
   * recently changed range first (RFC 2018 §4). Returns the block count.
   */
  sackBlocks(out: Uint32Array, max: number): number {
    const n = Math.min(max, this.nOoo);
    let lastStamp = Infinity;
    for (let b = 0; b < n; b++) {
      let best = -1;
      for (let k = 0; k < this.nOoo; k++) {
        const st = this.oooStamp[k]!;
        if (st < lastStamp && (best < 0 || st > this.oooStamp[best]!)) best = k;
      }
      lastStamp = this.oooStamp[best]!;
      out[2 * b] = this.oooStart[best]!;
      out[2 * b + 1] = this.oooEnd[best]!;
    }
    return n;
  }

  /** Copies up to `n` readable bytes into `dst[dstOff..]` and consumes them; returns the count. */
  read(dst: Uint8Array, dstOff: number, n: number): number {
    const take = Math.min(n, this.readable);
    let done = 0;
    while (done < take) {
      const chunk = Math.min(take - done, this.cap - this.head);
      copyBytes(dst, dstOff + done, this.bytes, this.base + this.head, chunk);
      done += chunk;
      this.head = (this.head + chunk) & (this.cap - 1);
    }
    this.readable -= take;
    return take;
  }

  /**
   * Moves the ring to a larger block `[newBase, newBase + newCap)` (a power of
   * two ≥ cap): all `cap` bytes from the head — readable data and the
   * out-of-order data placed beyond it — keep their offsets from the head,
   * which becomes 0. Out-of-order ranges are sequence numbers, so they stay.
   * The caller releases the old block.
   */
  moveTo(newBase: number, newCap: number): void {
    const first = this.cap - this.head;
    copyBytes(this.bytes, newBase, this.bytes, this.base + this.head, first);
    if (this.head > 0) copyBytes(this.bytes, newBase + first, this.bytes, this.base, this.head);
    this.base = newBase;
    this.cap = newCap;
    this.head = 0;
  }

  /** Discards everything (connection reset). */
  clear(): void {
    this.head = 0;
    this.readable = 0;
    this.nOoo = 0;
  }

  private moveRange(from: number, to: number): void {
    this.oooStart[to] = this.oooStart[from]!;
    this.oooEnd[to] = this.oooEnd[from]!;
    this.oooStamp[to] = this.oooStamp[from]!;
  }

  private removeAt(i: number): void {
    for (let k = i + 1; k < this.nOoo; k++) this.moveRange(k, k - 1);
    this.nOoo--;
  }
}
