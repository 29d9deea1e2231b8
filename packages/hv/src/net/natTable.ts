/**
 * The address-translation table of one transport protocol in the user
 * backend: each flow the guest opens — guest address and port to a
 * destination address and port — gets its own port on the gateway stack's
 * side (the "NAT port"), so the gateway stack, which only accepts packets
 * for its own address, sees every flow as a distinct connection to one proxy
 * port of its own and the NAT port names the flow on the way back.
 *
 * A flow is looked up by its guest-side 4-tuple (live flows only) or by its
 * NAT port (live and retired). A retired flow keeps its NAT port for a
 * quarantine time (the gateway stack's TIME-WAIT), so a late segment is
 * still translated and the port is not reused under an old connection.
 */

/** First NAT port handed out (below it: the gateway's own proxy ports). */
export const NAT_PORT_FIRST = 1024;
/** Last NAT port. */
export const NAT_PORT_LAST = 65535;

/** A translated flow. Protocol proxies extend it with their own state. */
export interface NatFlow {
  /** Guest side: address and port the guest sends from. */
  readonly guestAddr: number;
  readonly guestPort: number;
  /** The destination the guest addressed. */
  readonly destAddr: number;
  readonly destPort: number;
  /** Port of this flow on the gateway stack's side; set by NatTable.add. */
  natPort: number;
  /** The gateway stack's port the flow is steered to (its proxy or refuse port). */
  gatewayPort: number;
  /** 0 while live; once retired, the clock time (ms) its NAT port may be reused. */
  retiredUntil: number;
  /** @internal Next live flow with the same guest and destination ports. */
  sameKey: NatFlow | null;
}

/** Fields a new flow starts with (the table fills in the rest). */
export function newFlow(guestAddr: number, guestPort: number, destAddr: number, destPort: number, gatewayPort: number): NatFlow {
  return { guestAddr, guestPort, destAddr, destPort, natPort: 0, gatewayPort, retiredUntil: 0, sameKey: null };
}

/** Flows of one protocol, bounded. */
export class NatTable<F extends NatFlow> {
  /** Live flows by guestPort·65536 + destPort; collisions chain through sameKey. */
  private readonly byKey = new Map<number, F>();
  /** Every flow holding a NAT port, live or retired, indexed by port. */
  private readonly byPort: (F | undefined)[] = new Array<F | undefined>(NAT_PORT_LAST + 1);
  /** Retired flows still holding their NAT port. */
  private readonly retiredFlows = new Set<F>();
  private cursor = NAT_PORT_FIRST;
  private liveCount = 0;

  /** @param maxFlows most flows (live plus retired) held at once */
  constructor(readonly maxFlows: number) {}

  /** Live flows. */
  get live(): number {
    return this.liveCount;
  }

  /** Flows holding a NAT port (live and retired). */
  get held(): number {
    return this.liveCount + this.retiredFlows.size;
  }

  /** The live flow for a guest-side 4-tuple, or undefined. */
  lookup(guestAddr: number, guestPort: number, destAddr: number, destPort: number): F | undefined {
    let f = this.byKey.get(guestPort * 65536 + destPort) as NatFlow | null | undefined;
    while (f != null && (f.guestAddr !== guestAddr || f.destAddr !== destAddr)) f = f.sameKey;
    return (f ?? undefined) as F | undefined;
  }

  /** The flow (live or retired) holding NAT port `port`, or undefined. */
  byNatPort(port: number): F | undefined {
    return this.byPort[port];
  }

  /** Adds a live flow and gives it a free NAT port. Returns false when the table is full. */
  add(flow: F): boolean {
    if (this.held >= this.maxFlows) return false;
    const port = this.freePort();
    if (port === 0) return false;
    flow.natPort = port;
    flow.retiredUntil = 0;
    this.byPort[port] = flow;
    const key = flow.guestPort * 65536 + flow.destPort;
    flow.sameKey = this.byKey.get(key) ?? null;
    this.byKey.set(key, flow);
    this.liveCount++;
    return true;
  }

  /** Takes a live flow out of 4-tuple lookup and keeps its NAT port until `until` (ms). */
  retire(flow: F, until: number): void {
    if (flow.retiredUntil !== 0 || this.byPort[flow.natPort] !== flow) return;
    this.unlinkKey(flow);
    flow.retiredUntil = Math.max(until, 1);
    this.liveCount--;
    this.retiredFlows.add(flow);
  }

  /** Forgets a flow at once (its NAT port becomes free). */
  remove(flow: F): void {
    if (this.byPort[flow.natPort] !== flow) return;
    if (flow.retiredUntil === 0) {
      this.unlinkKey(flow);
      this.liveCount--;
    } else {
      this.retiredFlows.delete(flow);
    }
    this.byPort[flow.natPort] = undefined;
  }

  /** Frees the NAT ports of retired flows whose quarantine ended by `now`. */
  sweep(now: number): void {
    for (const f of [...this.retiredFlows]) if (f.retiredUntil <= now) this.remove(f);
  }

  /** Every live flow (a snapshot, safe to modify the table while iterating). */
  liveFlows(): F[] {
    const out: F[] = [];
    for (const head of this.byKey.values()) for (let f: NatFlow | null = head; f !== null; f = f.sameKey) out.push(f as F);
    return out;
  }

  private unlinkKey(flow: F): void {
    const key = flow.guestPort * 65536 + flow.destPort;
    let prev: NatFlow | null = null;
    for (let f: NatFlow | null = this.byKey.get(key) ?? null; f !== null; prev = f, f = f.sameKey) {
      if (f !== flow) continue;
      if (prev !== null) prev.sameKey = f.sameKey;
      else if (f.sameKey !== null) this.byKey.set(key, f.sameKey as F);
      else this.byKey.delete(key);
      flow.sameKey = null;
      return;
    }
  }

  /** A free NAT port, searching round-robin from the last one handed out (so ports are not reused at once); 0 when none. */
  private freePort(): number {
    const span = NAT_PORT_LAST - NAT_PORT_FIRST + 1;
    for (let i = 0; i < span; i++) {
      const p = this.cursor;
      this.cursor = p === NAT_PORT_LAST ? NAT_PORT_FIRST : p + 1;
      if (this.byPort[p] === undefined) return p;
    }
    return 0;
  }
}
