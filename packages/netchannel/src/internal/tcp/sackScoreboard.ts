/**
 * The sender's SACK scoreboard (RFC 2018 §5, RFC 6675 §4): which bytes above
 * SND.UNA the peer reported holding. Ranges are absolute sequence numbers,
 * sorted and disjoint, bounded in number; blocks that are stale, malformed or
 * beyond what we sent are ignored, so a hostile peer cannot corrupt it.
 * Owned by the connection's thread.
 */
import { seqGt, seqLeq, seqLt } from './tcpSeq.js';

/** Most ranges kept; beyond this the highest ranges are forgotten (safe: SACK is advisory). */
export const SACK_MAX_RANGES = 32;

/** Ranges the peer has selectively acknowledged. */
export class SackScoreboard {
  private readonly start = new Uint32Array(SACK_MAX_RANGES);
  private readonly end = new Uint32Array(SACK_MAX_RANGES);
  /** Number of ranges. */
  n = 0;
  /** Set by hole(): first byte of the hole found. */
  holeStart = 0;
  /** Set by hole(): one past the hole's last byte. */
  holeEnd = 0;

  /** Forgets everything (after a retransmission timeout, RFC 6675 §5.1). */
  clear(): void {
    this.n = 0;
  }

  /**
   * Adds the blocks `[l0, r0, l1, r1, ...]` that lie within (una, sndMax].
   * Returns the number of bytes newly marked as SACKed.
   */
  update(una: number, sndMax: number, blocks: Uint32Array, nblocks: number): number {
    let added = 0;
    for (let b = 0; b < nblocks; b++) {
      const l = blocks[2 * b]!;
      const r = blocks[2 * b + 1]!;
      if (!seqLt(l, r) || seqLeq(r, una) || seqGt(r, sndMax) || seqLt(l, una)) continue;
      added += this.insert(l, r);
    }
    return added;
  }

  /** Drops what a cumulative ACK up to `una` now covers. */
  advance(una: number): void {
    let k = 0;
    while (k < this.n && seqLeq(this.end[k]!, una)) k++;
    if (k > 0) {
      for (let i = k; i < this.n; i++) {
        this.start[i - k] = this.start[i]!;
        this.end[i - k] = this.end[i]!;
      }
      this.n -= k;
    }
    if (this.n > 0 && seqLt(this.start[0]!, una)) this.start[0] = una;
  }

  /** Bytes SACKed in total. */
  sackedBytes(): number {
    let s = 0;
    for (let i = 0; i < this.n; i++) s += (this.end[i]! - this.start[i]!) >>> 0;
    return s;
  }

  /** The highest SACKed sequence number plus one ("forward-most" byte), or `una` when empty. */
  fack(una: number): number {
    return this.n === 0 ? una : this.end[this.n - 1]!;
  }

  /** Bytes not SACKed within [from, to). */
  unsackedBetween(from: number, to: number): number {
    if (!seqLt(from, to)) return 0;
    let total = (to - from) >>> 0;
    for (let i = 0; i < this.n; i++) {
      const s = seqLt(this.start[i]!, from) ? from : this.start[i]!;
      const e = seqGt(this.end[i]!, to) ? to : this.end[i]!;
      if (seqLt(s, e)) total -= (e - s) >>> 0;
    }
    return total;
  }

  /**
   * Finds the first byte ≥ `from` and < `limit` not SACKed; sets holeStart and
   * holeEnd (clipped to `limit`). Returns false when there is none.
   */
  hole(from: number, limit: number): boolean {
    let pos = from;
    for (let i = 0; i < this.n && seqLt(pos, limit); i++) {
      const s = this.start[i]!;
      const e = this.end[i]!;
      if (seqLeq(e, pos)) continue;
      if (seqLt(pos, s)) {
        this.holeStart = pos;
        this.holeEnd = seqLt(s, limit) ? s : limit;
        return true;
      }
      pos = e;
    }
    if (!seqLt(pos, limit)) return false;
    this.holeStart = pos;
    this.holeEnd = limit;
    return true;
  }

  private insert(l0: number, r0: number): number {
    let l = l0;
    let r = r0;
    let i = 0;
    while (i < this.n && seqLt(this.end[i]!, l)) i++;
    let j = i;
    let covered = 0;
    while (j < this.n && seqLeq(this.start[j]!, r)) {
      const s = this.start[j]!;
      const e = this.end[j]!;
      // Bytes of [l0, r0) already held by range j.
      const os = seqLt(s, l0) ? l0 : s;
      const oe = seqGt(e, r0) ? r0 : e;
      if (seqLt(os, oe)) covered += (oe - os) >>> 0;
      if (seqLt(s, l)) l = s;
      if (seqGt(e, r)) r = e;
      j++;
    }
    const merged = j - i;
    if (merged === 0) {
      if (this.n === SACK_MAX_RANGES) {
        if (i === this.n) return 0; // above everything and full: forget it
        this.n--; // drop the highest range to make room
      }
      for (let k = this.n; k > i; k--) {
        this.start[k] = this.start[k - 1]!;
        this.end[k] = this.end[k - 1]!;
      }
      this.n++;
    } else if (merged > 1) {
      for (let k = j; k < this.n; k++) {
        this.start[k - merged + 1] = this.start[k]!;
        this.end[k - merged + 1] = this.end[k]!;
      }
      this.n -= merged - 1;
    }
    this.start[i] = l;
    this.end[i] = r;
    return ((r0 - l0) >>> 0) - covered;
  }
}
