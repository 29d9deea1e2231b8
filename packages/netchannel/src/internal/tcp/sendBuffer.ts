/**
 * A connection's send buffer: a ring of bytes in the pool's arena holding the
 * data from SND.UNA onward (sent but unacknowledged, then not yet sent). Data
 * is copied in by the application and out into segments with copyWithin.
 * Owned by the connection's thread.
 */
import { copyBytes } from '../wire/bytes.js';

/** Byte ring for outgoing data. Offsets are relative to the oldest unacknowledged byte. */
export class SendBuffer {
  private readonly bytes: Uint8Array;
  /** Start of the ring in `bytes` (arena offset); moves when the ring grows. */
  base: number;
  /** Ring size, bytes (a power of two). */
  cap: number;
  private head = 0;
  /** Bytes held. */
  len = 0;

  constructor(bytes: Uint8Array, base: number, cap: number) {
    this.bytes = bytes;
    this.base = base;
    this.cap = cap;
  }

  /** Free space, bytes. */
  get space(): number {
    return this.cap - this.len;
  }

  /** Appends up to `n` bytes from `src[srcOff..]`; returns how many fit. */
  append(src: Uint8Array, srcOff: number, n: number): number {
    const take = Math.min(n, this.cap - this.len);
    let pos = (this.head + this.len) & (this.cap - 1);
    let done = 0;
    while (done < take) {
      const chunk = Math.min(take - done, this.cap - pos);
      copyBytes(this.bytes, this.base + pos, src, srcOff + done, chunk);
      done += chunk;
      pos = (pos + chunk) & (this.cap - 1);
    }
    this.len += take;
    return take;
  }

  /** Copies `n` bytes starting `from` bytes past the head into `dst[dstOff..]` (the pool's bytes). */
  copyOut(dst: Uint8Array, dstOff: number, from: number, n: number): void {
    let pos = (this.head + from) & (this.cap - 1);
    let done = 0;
    while (done < n) {
      const chunk = Math.min(n - done, this.cap - pos);
      copyBytes(dst, dstOff + done, this.bytes, this.base + pos, chunk);
      done += chunk;
      pos = 0;
    }
  }

  /** Drops `n` acknowledged bytes from the head. */
  consume(n: number): void {
    this.head = (this.head + n) & (this.cap - 1);
    this.len -= n;
  }

  /**
   * Moves the ring to a larger block `[newBase, newBase + newCap)` (a power of
   * two ≥ cap), the held bytes laid out from its start. The caller releases the old block.
   */
  moveTo(newBase: number, newCap: number): void {
    this.copyOut(this.bytes, newBase, 0, this.len);
    this.base = newBase;
    this.cap = newCap;
    this.head = 0;
  }
}
