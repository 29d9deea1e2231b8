/**
 * Impairment on a VM's link, as `tc qdisc ... netem` would add it on a host:
 * `--net BACKEND,loss=P,dup=P,reorder=P,delay=MS,jitter=MS,rate=BITS[,seed=N]`
 * wraps any backend (user, stream:, switch:) in netchannel's impairment shim,
 * applied to frames in both directions, each direction with its own random
 * choices. The shim is the same one netchannel's own soak tests use on a
 * link pair, so a guest can be tested against loss, duplication, reordering,
 * delay and a rate limit with its real device and its real peer.
 *
 * The shim wants a netchannel Link; the backend is adapted to one by the
 * hv's BackendLink (transmit is the backend's send, frames the backend
 * delivers are the Link's received frames). Backpressure (congested, flush, pause, resume) passes
 * straight through: a rate limit that queues frames does so inside the shim,
 * whose queue drops beyond its limit as a router's would.
 */
import { HvError } from '../errors.js';
import { BackendLink } from '../net/backendLink.js';
import { HostClock, impairLink, type ImpairedLink, type Impairment } from '../net/netchannel.js';
import type { NetBackend, NetBackendEvents } from './netBackend.js';

/** The impairment suboptions of `--net`, as parsed. */
export interface NetImpairment extends Impairment {
  /** Seed of the random choices (default 1): a run repeats its losses. */
  readonly seed?: number;
}

/** Suboption names of an impairment, for the `--net` parser. */
export const IMPAIRMENT_OPTION = /^(loss|dup|reorder|delay|jitter|rate|seed)=/;

/**
 * Parses one impairment suboption into `into`.
 * @throws HvError BAD_OPTION naming the bad value
 */
export function parseImpairmentOption(spec: string, part: string, into: { -readonly [K in keyof NetImpairment]?: NetImpairment[K] }): void {
  const eq = part.indexOf('=');
  const key = part.slice(0, eq);
  const value = part.slice(eq + 1);
  const number = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
  const bad = (what: string): never => {
    throw new HvError('BAD_OPTION', `--net '${spec}': ${part}: ${what}`);
  };
  switch (key) {
    case 'loss':
    case 'dup':
    case 'reorder': {
      // A percentage (loss=5%) or a probability (loss=0.05), as netem users write either.
      const p = value.endsWith('%') && /^\d+(\.\d+)?%$/.test(value) ? Number(value.slice(0, -1)) / 100 : number;
      if (!(p >= 0 && p <= 1)) bad('give a probability from 0 to 1, or a percentage like 5%');
      if (key === 'loss') into.loss = p;
      else if (key === 'dup') into.duplicate = p;
      else into.reorder = p;
      return;
    }
    case 'delay':
    case 'jitter': {
      const ms = value.endsWith('ms') ? Number(value.slice(0, -2)) : number;
      if (!(ms >= 0 && ms <= 60_000) || !/^\d+(\.\d+)?(ms)?$/.test(value)) bad('give milliseconds from 0 to 60000, like 20 or 20ms');
      if (key === 'delay') into.delayMs = ms;
      else into.jitterMs = ms;
      return;
    }
    case 'rate': {
      const m = /^(\d+(?:\.\d+)?)([kmg]?)(bit)?$/i.exec(value);
      const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[(m?.[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
      const bits = m ? Number(m[1]) * scale : Number.NaN;
      if (!(bits >= 1000)) bad('give bits per second of at least 1000, like 10m or 100mbit');
      into.rateBitsPerSec = bits;
      return;
    }
    case 'seed':
      if (!/^\d{1,9}$/.test(value)) bad('give a whole number');
      into.seed = Number(value);
      return;
    default:
      bad('not an impairment option (known: loss, dup, reorder, delay, jitter, rate, seed)');
  }
}

/** True when `imp` would change anything (an all-zero impairment needs no shim). */
export function impairs(imp: NetImpairment | undefined): imp is NetImpairment {
  if (imp === undefined) return false;
  return (imp.loss ?? 0) > 0 || (imp.duplicate ?? 0) > 0 || (imp.reorder ?? 0) > 0 || (imp.delayMs ?? 0) > 0 || (imp.jitterMs ?? 0) > 0 || imp.rateBitsPerSec !== undefined;
}

/** `inner` with the impairment applied to frames both ways. */
export class ImpairedNetBackend implements NetBackend {
  readonly description: string;
  /** The shim (its counters: `shim.stats`). */
  shim: ImpairedLink | null = null;

  constructor(
    private readonly inner: NetBackend,
    private readonly impairment: NetImpairment,
    private readonly mtu: number,
  ) {
    const { seed: _seed, ...rest } = impairment;
    this.description = `${inner.description} impaired ${JSON.stringify(rest)}`;
  }

  get linkUp(): boolean {
    return this.inner.linkUp;
  }

  get congested(): boolean {
    return this.inner.congested;
  }

  attach(events: NetBackendEvents): void {
    // The shim copies the inner link's MAC and nothing reads it: frames keep the guest's own addresses.
    const link = new BackendLink(this.inner, new Uint8Array(6), this.mtu, events);
    const clock = new HostClock();
    const { seed = 1, ...imp } = this.impairment;
    this.shim = impairLink(link, { clock, timers: clock, seed, outbound: imp, inbound: imp });
    this.shim.setReceiver({ receiveFrame: (data, offset, length) => events.frame(data, offset, length) });
  }

  send(frame: Uint8Array, offset: number, length: number): boolean {
    if (this.shim === null) return false;
    return this.shim.transmit(frame, offset, length) === 0;
  }

  flush(): void {
    this.inner.flush();
  }

  pause(): void {
    this.inner.pause();
  }

  resume(): void {
    this.inner.resume();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
