/**
 * IPv4 fragment reassembly (RFC 791 §3.2 "Reassembly") under memory limits.
 * Fragments stay in their mbufs, kept in offset order on a chain; the whole
 * datagram is copied into one scratch area when the last hole closes. Limits:
 * a bounded number of datagrams in progress, a bound on held mbufs (the oldest
 * datagram is evicted beyond it, as Linux does above ipfrag_high_thresh), and a
 * timeout per datagram. A fragment that overlaps another except as an exact
 * duplicate discards the whole datagram (overlaps only serve evasion).
 * Owned by the stack's thread.
 */
import { MBUF_SIZE } from '../mbufPool.js';
import type { StackCore } from './stackCore.js';
import type { Timer } from './timerQueue.js';
import { get16, get32, put16 } from './wire/bytes.js';
import { IP_DST, IP_ID, IP_LEN, IP_MAXPACKET, IP_MF, IP_OFF, IP_OFFMASK, IP_P, IP_SRC, IP_VHL } from './wire/ipv4.js';

/** Reassembly limits. */
export interface ReassemblyConfig {
  /** Datagrams reassembled at once. */
  readonly maxDatagrams: number;
  /** mbuf bytes all fragments may hold (counting whole mbufs). */
  readonly maxBytes: number;
  /** Time a datagram may take to complete, ms (RFC 791 suggests 15 s; Linux uses 30 s). */
  readonly timeoutMs: number;
}

/** Defaults of ReassemblyConfig. */
export const DEFAULT_REASSEMBLY_CONFIG: ReassemblyConfig = Object.freeze({
  maxDatagrams: 64,
  maxBytes: 1024 * 1024,
  timeoutMs: 30_000,
});

class Datagram {
  used = false;
  src = 0;
  dst = 0;
  proto = 0;
  id = 0;
  /** First fragment of the offset-ordered chain, or -1. */
  head = -1;
  nfrags = 0;
  /** Payload length once the last fragment arrived, else -1. */
  total = -1;
  /** Arrival order, for eviction. */
  born = 0;
  timer: Timer | null = null;
}

/** Result holder of Reassembly.insert: where the complete datagram was written. */
export class Reassembled {
  /** Offset of the datagram's IP header in the pool's bytes. */
  off = 0;
  /** IP header length, bytes. */
  hl = 0;
  /** Datagram length (header + payload), bytes. */
  len = 0;
}

/** The reassembly table. */
export class Reassembly {
  private readonly core: StackCore;
  private readonly cfg: ReassemblyConfig;
  private readonly slots: Datagram[] = [];
  /** Per mbuf: payload start and end within the datagram, and payload offset in the pool. */
  private readonly fStart: Int32Array;
  private readonly fEnd: Int32Array;
  private readonly fData: Int32Array;
  private heldBytes = 0;
  private births = 0;
  private readonly scratch: number;
  /** Filled by insert() when it returns true. */
  readonly done = new Reassembled();

  /** `scratch` is a 64 KiB region of the pool's bytes (arena) to assemble into. */
  constructor(core: StackCore, cfg: ReassemblyConfig, scratch: number) {
    this.core = core;
    this.cfg = cfg;
    this.scratch = scratch;
    const n = core.pool.capacity;
    this.fStart = new Int32Array(n);
    this.fEnd = new Int32Array(n);
    this.fData = new Int32Array(n);
    for (let i = 0; i < cfg.maxDatagrams; i++) {
      const d = new Datagram();
      d.timer = core.timers.timer(() => this.expire(d));
      this.slots.push(d);
    }
  }

  /** mbufs currently held by incomplete datagrams. */
  get heldFragments(): number {
    let n = 0;
    for (const d of this.slots) if (d.used) n += d.nfrags;
    return n;
  }

  /**
   * Takes fragment `m` (data window at its IP header, already validated, `len`
   * = total length, `hl` header length). Owns `m`. Returns true when the
   * datagram is complete: it is then in `done` (scratch memory).
   */
  insert(m: number, hl: number, len: number): boolean {
    const core = this.core;
    const pool = core.pool;
    const b = pool.bytes;
    const o = pool.off(m);
    core.stats.ipReasmReqds++;
    const ff = get16(b, o + IP_OFF);
    const more = (ff & IP_MF) !== 0;
    const start = (ff & IP_OFFMASK) * 8;
    const plen = len - hl;
    const end = start + plen;
    if (plen <= 0 || (more && (plen & 7) !== 0) || end + hl > IP_MAXPACKET) {
      core.stats.ipReasmFails++;
      pool.freeChain(m);
      return false;
    }
    const d = this.find(get32(b, o + IP_SRC), get32(b, o + IP_DST), b[o + IP_P]!, get16(b, o + IP_ID));
    if (!this.consistent(d, more, end)) {
      this.fail(d);
      pool.freeChain(m);
      return false;
    }
    if (!more) d.total = end;
    this.fStart[m] = start;
    this.fEnd[m] = end;
    this.fData[m] = o + hl;
    const placed = this.link(d, m, start, end);
    if (placed !== 1) {
      if (placed < 0) this.fail(d);
      pool.freeChain(m);
      return false;
    }
    this.heldBytes += MBUF_SIZE;
    this.enforceLimit();
    if (!d.used || !this.complete(d)) return false;
    this.assemble(d);
    return true;
  }

  private find(src: number, dst: number, proto: number, id: number): Datagram {
    let free: Datagram | null = null;
    let oldest: Datagram | null = null;
    for (const d of this.slots) {
      if (!d.used) {
        free ??= d;
        continue;
      }
      if (d.src === src && d.dst === dst && d.proto === proto && d.id === id) return d;
      if (oldest === null || d.born < oldest.born) oldest = d;
    }
    let d = free;
    if (d === null) {
      d = oldest!;
      this.fail(d);
    }
    d.used = true;
    d.src = src;
    d.dst = dst;
    d.proto = proto;
    d.id = id;
    d.head = -1;
    d.nfrags = 0;
    d.total = -1;
    d.born = this.births++;
    this.core.timers.armIn(d.timer!, this.cfg.timeoutMs);
    return d;
  }

  /** A last fragment must agree with what is known of the length. */
  private consistent(d: Datagram, more: boolean, end: number): boolean {
    if (d.total >= 0 && (more ? end > d.total : end !== d.total)) return false;
    if (!more) {
      for (let f = d.head; f >= 0; f = this.core.pool.next(f)) if (this.fEnd[f]! > end) return false;
    }
    return true;
  }

  /** Links `m` into the offset-ordered chain: 1 linked, 0 exact duplicate (drop it), -1 overlap (discard all). */
  private link(d: Datagram, m: number, start: number, end: number): number {
    const pool = this.core.pool;
    let prev = -1;
    let cur = d.head;
    while (cur >= 0 && this.fStart[cur]! < start) {
      prev = cur;
      cur = pool.next(cur);
    }
    if (cur >= 0 && this.fStart[cur] === start && this.fEnd[cur] === end) return 0;
    if (prev >= 0 && this.fEnd[prev]! > start) return -1;
    if (cur >= 0 && this.fStart[cur]! < end) return -1;
    pool.setNext(m, cur);
    if (prev < 0) d.head = m;
    else pool.setNext(prev, m);
    d.nfrags++;
    return 1;
  }

  private complete(d: Datagram): boolean {
    if (d.total < 0) return false;
    let expect = 0;
    for (let f = d.head; f >= 0; f = this.core.pool.next(f)) {
      if (this.fStart[f] !== expect) return false;
      expect = this.fEnd[f]!;
    }
    return expect === d.total;
  }

  private assemble(d: Datagram): void {
    const pool = this.core.pool;
    const b = pool.bytes;
    const first = d.head;
    const hdrStart = pool.off(first);
    const hl = this.fData[first]! - hdrStart;
    const s = this.scratch;
    b.copyWithin(s, hdrStart, hdrStart + hl);
    for (let f = first; f >= 0; f = pool.next(f)) {
      const n = this.fEnd[f]! - this.fStart[f]!;
      b.copyWithin(s + hl + this.fStart[f]!, this.fData[f]!, this.fData[f]! + n);
    }
    const len = hl + d.total;
    put16(b, s + IP_LEN, len);
    put16(b, s + IP_OFF, 0);
    this.done.off = s;
    this.done.hl = (b[s + IP_VHL]! & 0x0f) * 4;
    this.done.len = len;
    this.release(d);
    this.core.stats.ipReasmOKs++;
  }

  private enforceLimit(): void {
    while (this.heldBytes > this.cfg.maxBytes) {
      let oldest: Datagram | null = null;
      for (const d of this.slots) if (d.used && (oldest === null || d.born < oldest.born)) oldest = d;
      if (oldest === null) return;
      this.fail(oldest);
    }
  }

  private expire(d: Datagram): void {
    if (d.used) this.fail(d);
  }

  private fail(d: Datagram): void {
    this.core.stats.ipReasmFails++;
    this.release(d);
  }

  private release(d: Datagram): void {
    const pool = this.core.pool;
    this.heldBytes -= d.nfrags * MBUF_SIZE;
    if (d.head >= 0) pool.freeChain(d.head);
    d.head = -1;
    d.nfrags = 0;
    d.used = false;
    this.core.timers.cancel(d.timer!);
  }
}
