/**
 * Which address the translator gave the first fragment of a datagram, so the
 * later fragments (which carry no ports) get the same one. A fixed ring of
 * recent datagrams, keyed as RFC 791 §3.2 identifies a datagram — source,
 * destination, protocol, identification — holds nothing unbounded: a
 * fragment whose first fragment is forgotten (or never came) is passed on
 * untranslated and dropped by the receiver, as an incomplete datagram is.
 */

/** Datagrams remembered. */
const SLOTS = 64;

/** A ring of (src, dst, protocol, id) → translated address. */
export class FragmentMemory {
  private readonly src = new Uint32Array(SLOTS);
  private readonly dst = new Uint32Array(SLOTS);
  /** protocol << 16 | id, or -1 for an empty slot. */
  private readonly protoId = new Int32Array(SLOTS).fill(-1);
  private readonly to = new Uint32Array(SLOTS);
  private next = 0;

  /** Remembers that datagram (src, dst, protocol, id) is translated to address `to`. */
  remember(src: number, dst: number, protocol: number, id: number, to: number): void {
    const i = this.next;
    this.next = (i + 1) % SLOTS;
    this.src[i] = src;
    this.dst[i] = dst;
    this.protoId[i] = (protocol << 16) | id;
    this.to[i] = to;
  }

  /** The address remembered for the datagram, or -1. */
  recall(src: number, dst: number, protocol: number, id: number): number {
    const key = (protocol << 16) | id;
    for (let i = 0; i < SLOTS; i++) {
      if (this.protoId[i] === key && this.src[i] === src && this.dst[i] === dst) return this.to[i]!;
    }
    return -1;
  }
}
