/**
 * Test and benchmark fixture: two stacks on one simulated Ethernet segment,
 * optionally through the impairment shim, under a VirtualClock or any clock.
 * Not exported from the package root; tests and bench import it by path.
 */
import type { Clock, TimerService } from '../clock.js';
import { seededEntropy } from '../entropy.js';
import { impairLink, type ImpairedLink, type Impairment } from '../impairedLink.js';
import type { Link } from '../link.js';
import { createLinkPair } from '../linkPair.js';
import { NetStack, type NetStackOptions } from '../netStack.js';

/** Two stacks A (10.0.0.1) and B (10.0.0.2) joined by a link pair. */
export interface TwoStacks {
  a: NetStack;
  b: NetStack;
  /** The shims on A's and B's ends when impairment was requested. */
  shimA: ImpairedLink | null;
  shimB: ImpairedLink | null;
}

/** Options of twoStacks. */
export interface TwoStacksOptions {
  clock: Clock & TimerService;
  /** Impairment of each direction (applied on the sending end). */
  impairment?: Impairment;
  seed?: number;
  stack?: Partial<NetStackOptions>;
  stackB?: Partial<NetStackOptions>;
}

/** Address of stack A. */
export const ADDR_A = 0x0a000001;
/** Address of stack B. */
export const ADDR_B = 0x0a000002;

/** Builds the pair. */
export function twoStacks(o: TwoStacksOptions): TwoStacks {
  const [la, lb] = createLinkPair();
  let linkA: Link = la;
  let linkB: Link = lb;
  let shimA: ImpairedLink | null = null;
  let shimB: ImpairedLink | null = null;
  if (o.impairment !== undefined) {
    shimA = impairLink(la, { clock: o.clock, timers: o.clock, seed: (o.seed ?? 1) * 2 + 1, outbound: o.impairment });
    shimB = impairLink(lb, { clock: o.clock, timers: o.clock, seed: (o.seed ?? 1) * 2 + 2, outbound: o.impairment });
    linkA = shimA;
    linkB = shimB;
  }
  const base = { clock: o.clock, timers: o.clock };
  const a = new NetStack({ ...base, entropy: seededEntropy((o.seed ?? 1) * 7 + 1), ...o.stack });
  const b = new NetStack({ ...base, entropy: seededEntropy((o.seed ?? 1) * 7 + 2), ...o.stack, ...o.stackB });
  a.addInterface(linkA, { address: ADDR_A, prefixLength: 24 });
  b.addInterface(linkB, { address: ADDR_B, prefixLength: 24 });
  return { a, b, shimA, shimB };
}
