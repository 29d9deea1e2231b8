/**
 * TCP's connection tables: the demultiplexing hash by 4-tuple (every
 * connection from SYN-SENT/SYN-RECEIVED to TIME-WAIT), listeners by port, and
 * the port bindings that bind() checks for EADDRINUSE (Linux's rules for
 * SO_REUSEADDR). The hash is salted per stack so a peer cannot aim flows at one
 * chain. Owned by the stack's thread.
 */
import type { Entropy } from '../../entropy.js';
import type { Tcb } from './tcb.js';
import { TCPS_LISTEN } from './tcpStates.js';

/** First ephemeral port (IANA dynamic range, RFC 6335 §6). */
export const EPHEMERAL_FIRST = 49152;
/** Last ephemeral port. */
export const EPHEMERAL_LAST = 65535;

/** The tables. */
export class TcpTable {
  private buckets: (Tcb | null)[] = new Array<Tcb | null>(256).fill(null);
  private readonly salt: number;
  private readonly entropy: Entropy;
  /** Connections in the hash. */
  count = 0;
  /** Every Tcb holding a local port (listeners, bound sockets, connections), by port. */
  private readonly bound = new Map<number, Set<Tcb>>();

  constructor(entropy: Entropy) {
    this.entropy = entropy;
    this.salt = entropy.random32() | 0;
  }

  /** Adds a connection to the demux hash. */
  insert(tp: Tcb): void {
    if (tp.inTable) return;
    if (this.count >= this.buckets.length) this.grow();
    const b = this.bucket(tp.laddr, tp.lport, tp.faddr, tp.fport);
    tp.hashNext = this.buckets[b]!;
    this.buckets[b] = tp;
    tp.inTable = true;
    this.count++;
  }

  /** Removes a connection from the demux hash. */
  remove(tp: Tcb): void {
    if (!tp.inTable) return;
    const b = this.bucket(tp.laddr, tp.lport, tp.faddr, tp.fport);
    let prev: Tcb | null = null;
    for (let c: Tcb | null = this.buckets[b]!; c !== null; c = c.hashNext) {
      if (c === tp) {
        if (prev === null) this.buckets[b] = c.hashNext;
        else prev.hashNext = c.hashNext;
        break;
      }
      prev = c;
    }
    tp.hashNext = null;
    tp.inTable = false;
    this.count--;
  }

  /** The connection with this exact 4-tuple, or null. */
  lookup(laddr: number, lport: number, faddr: number, fport: number): Tcb | null {
    for (let c: Tcb | null = this.buckets[this.bucket(laddr, lport, faddr, fport)]!; c !== null; c = c.hashNext) {
      if (c.lport === lport && c.fport === fport && c.faddr === faddr && c.laddr === laddr) return c;
    }
    return null;
  }

  /** The listener for a SYN to laddr:lport: an exact address match first, then the wildcard. */
  listener(laddr: number, lport: number): Tcb | null {
    const set = this.bound.get(lport);
    if (set === undefined) return null;
    let wild: Tcb | null = null;
    for (const t of set) {
      if (t.state !== TCPS_LISTEN) continue;
      if (t.laddr === laddr) return t;
      if (t.laddr === 0) wild = t;
    }
    return wild;
  }

  /** Records that `tp` holds its local port. */
  bind(tp: Tcb): void {
    let set = this.bound.get(tp.lport);
    if (set === undefined) {
      set = new Set();
      this.bound.set(tp.lport, set);
    }
    set.add(tp);
  }

  /** Releases `tp`'s hold on its local port. */
  unbind(tp: Tcb): void {
    const set = this.bound.get(tp.lport);
    if (set === undefined) return;
    set.delete(tp);
    if (set.size === 0) this.bound.delete(tp.lport);
  }

  /**
   * True when binding laddr:lport would conflict (EADDRINUSE): another holder
   * with an overlapping address, unless both set SO_REUSEADDR and the other is
   * not listening. `listening` asks the stricter question for listen().
   */
  conflicts(self: Tcb, laddr: number, lport: number, reuse: boolean, listening: boolean): boolean {
    const set = this.bound.get(lport);
    if (set === undefined) return false;
    for (const t of set) {
      if (t === self) continue;
      if (t.laddr !== 0 && laddr !== 0 && t.laddr !== laddr) continue;
      if (listening && t.state === TCPS_LISTEN) return true;
      if (reuse && t.reuseAddr && t.state !== TCPS_LISTEN) continue;
      if (listening) continue; // connections on the port do not stop a reusing listener
      return true;
    }
    return false;
  }

  /** True when any Tcb holds `lport`. */
  portUsed(lport: number): boolean {
    return this.bound.has(lport);
  }

  /** A free ephemeral port (RFC 6056 §3.3.1: random start, then sequential search), or 0 when all are taken. */
  ephemeralPort(): number {
    const n = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
    const start = this.entropy.random32() % n;
    for (let i = 0; i < n; i++) {
      const p = EPHEMERAL_FIRST + ((start + i) % n);
      if (!this.bound.has(p)) return p;
    }
    return 0;
  }

  /** Every connection in the hash (for shutdown and diagnostics; allocates). */
  all(): Tcb[] {
    const out: Tcb[] = [];
    for (let c of this.buckets) for (; c !== null; c = c.hashNext) out.push(c);
    return out;
  }

  private bucket(laddr: number, lport: number, faddr: number, fport: number): number {
    let h = Math.imul(faddr ^ this.salt, 0x9e3779b1);
    h = Math.imul(h ^ laddr ^ (h >>> 15), 0x85ebca77);
    h = Math.imul(h ^ ((fport << 16) | lport) ^ (h >>> 13), 0xc2b2ae3d);
    return (h ^ (h >>> 16)) & (this.buckets.length - 1);
  }

  private grow(): void {
    const old = this.buckets;
    this.buckets = new Array<Tcb | null>(old.length * 2).fill(null);
    this.count = 0;
    for (let c of old) {
      while (c !== null) {
        const next = c.hashNext;
        c.inTable = false;
        this.insert(c);
        c = next;
      }
    }
  }
}
