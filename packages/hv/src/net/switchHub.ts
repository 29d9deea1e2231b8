/**
 * An in-process Ethernet learning switch (IEEE 802.1D's learning and
 * forwarding, without spanning tree): one per name in a process, so every
 * `--net switch:NAME` device of one hv — several Machines — is a port of the
 * same segment. A frame's source MAC is learned on the port it came in on;
 * a frame to a learned unicast MAC goes to that port only (or nowhere, if
 * that is the port it came from), anything else is flooded to every other
 * port. Learned entries age out after AGEING_MS (802.1D's default 300 s) and
 * the table is bounded; a port that leaves takes its entries with it.
 */

/** What the switch needs from a port. */
export interface SwitchPort {
  /** Delivers a frame to the port's device; the bytes are valid only during the call. */
  deliver(frame: Uint8Array, offset: number, length: number): void;
}

/** Learned entries age out after this long, ms (802.1D dot1dTpAgingTime default). */
export const AGEING_MS = 300_000;
/** Most MAC addresses learned per switch. */
const MAX_ENTRIES = 4096;
/** Bytes of an Ethernet header. */
const ETH_HLEN = 14;

interface Entry {
  port: SwitchPort;
  seen: number;
}

/** Counters of one switch. */
export interface SwitchStats {
  /** Frames sent to exactly one port. */
  forwarded: number;
  /** Frames copied to every other port. */
  flooded: number;
  /** Frames dropped (runts, or addressed back to their own port). */
  filtered: number;
}

/** Switches of this process, by name. */
const hubs = new Map<string, SwitchHub>();

/** One named switch. */
export class SwitchHub {
  readonly stats: SwitchStats = { forwarded: 0, flooded: 0, filtered: 0 };
  private readonly ports = new Set<SwitchPort>();
  private readonly table = new Map<number, Entry>();

  private constructor(
    readonly name: string,
    private readonly now: () => number,
  ) {}

  /** The switch called `name`, made on first use. */
  static named(name: string, now: () => number = () => performance.now()): SwitchHub {
    let h = hubs.get(name);
    if (h === undefined) {
      h = new SwitchHub(name, now);
      hubs.set(name, h);
    }
    return h;
  }

  /** Ports plugged in. */
  get portCount(): number {
    return this.ports.size;
  }

  /** MAC addresses learned. */
  get learned(): number {
    return this.table.size;
  }

  /** Plugs a port in. */
  join(port: SwitchPort): void {
    this.ports.add(port);
  }

  /** Unplugs a port and forgets what was learned on it; the last port out removes the switch. */
  leave(port: SwitchPort): void {
    this.ports.delete(port);
    for (const [mac, e] of this.table) if (e.port === port) this.table.delete(mac);
    if (this.ports.size === 0 && hubs.get(this.name) === this) hubs.delete(this.name);
  }

  /** A frame sent by `from`: learn its source, then forward or flood it. */
  input(from: SwitchPort, frame: Uint8Array, offset: number, length: number): void {
    if (length < ETH_HLEN || !this.ports.has(from)) {
      this.stats.filtered++;
      return;
    }
    const now = this.now();
    const src = macAt(frame, offset + 6);
    if ((frame[offset + 6]! & 1) === 0) this.learn(src, from, now);
    const e = (frame[offset]! & 1) === 0 ? this.table.get(macAt(frame, offset)) : undefined;
    if (e !== undefined && now - e.seen < AGEING_MS && this.ports.has(e.port)) {
      if (e.port === from) {
        this.stats.filtered++;
        return;
      }
      this.stats.forwarded++;
      e.port.deliver(frame, offset, length);
      return;
    }
    this.stats.flooded++;
    for (const p of [...this.ports]) if (p !== from) p.deliver(frame, offset, length);
  }

  private learn(mac: number, port: SwitchPort, now: number): void {
    const e = this.table.get(mac);
    if (e !== undefined) {
      e.port = port;
      e.seen = now;
      return;
    }
    if (this.table.size >= MAX_ENTRIES) this.table.delete(this.table.keys().next().value as number);
    this.table.set(mac, { port, seen: now });
  }
}

/** The 6-byte MAC address at `o` as a number (48 bits fit a double exactly). */
function macAt(b: Uint8Array, o: number): number {
  return ((b[o]! << 8) | b[o + 1]!) * 0x100000000 + (((b[o + 2]! << 24) | (b[o + 3]! << 16) | (b[o + 4]! << 8) | b[o + 5]!) >>> 0);
}
