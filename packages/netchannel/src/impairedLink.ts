/**
 * The impairment shim: wraps any Link and, per direction, loses, duplicates,
 * reorders, delays and rate-limits frames, and can black the link out for a
 * while. Randomness comes from a seed and time from the injected clock, so a
 * run under a VirtualClock repeats exactly.
 */
import type { Clock, TimerService } from './clock.js';
import { seededEntropy, type Entropy } from './entropy.js';
import { NetError } from './errors.js';
import type { Link, LinkReceiver } from './link.js';
import { TimerDriver } from './internal/timerDriver.js';
import type { Timer } from './internal/timerQueue.js';
import { ETHER_HDR_LEN } from './internal/wire/ethernet.js';

/** What happens to frames going one way. Probabilities are in [0, 1]. */
export interface Impairment {
  /** Probability a frame is dropped. */
  readonly loss?: number;
  /** Probability a frame is sent twice. */
  readonly duplicate?: number;
  /** Probability a frame is held back by `reorderDelayMs` so later frames overtake it. */
  readonly reorder?: number;
  /** Extra hold for reordered frames, ms (default 2 × delayMs + 1). */
  readonly reorderDelayMs?: number;
  /** One-way delay, ms (default 0). */
  readonly delayMs?: number;
  /** Uniform random extra delay in [0, jitterMs), ms. */
  readonly jitterMs?: number;
  /** Rate limit, bits per second (default unlimited). */
  readonly rateBitsPerSec?: number;
  /** Bytes the rate limiter may queue before it drops (default 256 KiB). */
  readonly queueBytes?: number;
}

/** Options of impairLink. */
export interface ImpairLinkOptions {
  /** Clock for delays and blackouts. */
  readonly clock: Clock;
  /** Timer service for delayed delivery. */
  readonly timers: TimerService;
  /** Seed of the shim's random choices (default 1). */
  readonly seed?: number;
  /** Impairment of frames this end transmits. */
  readonly outbound?: Impairment;
  /** Impairment of frames this end receives. */
  readonly inbound?: Impairment;
  /** Most frames held for delayed delivery at once, both ways (default 4096); beyond, frames drop. */
  readonly maxHeldFrames?: number;
}

/** Counters of what the shim did. */
export interface ImpairmentStats {
  /** Frames offered to the shim. */
  offered: number;
  /** Frames passed on (duplicates included). */
  delivered: number;
  /** Frames dropped by the loss probability. */
  lost: number;
  /** Extra copies sent. */
  duplicated: number;
  /** Frames held back to reorder. */
  reordered: number;
  /** Frames dropped during a blackout. */
  blackedOut: number;
  /** Frames dropped because the rate limiter's queue or the hold slots were full. */
  overflowed: number;
}

const OUT = 0;
const IN = 1;

class Direction {
  cfg: Impairment;
  busyUntil = 0;
  constructor(cfg: Impairment) {
    this.cfg = cfg;
  }
}

/** A Link wrapped by the shim. Change impairments and schedule blackouts at run time. */
export class ImpairedLink implements Link {
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly minFrameLength?: number;
  /** What the shim did so far. */
  readonly stats: ImpairmentStats = { offered: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, blackedOut: 0, overflowed: 0 };
  private readonly inner: Link;
  private readonly clock: Clock;
  private readonly driver: TimerDriver;
  private readonly rng: Entropy;
  private readonly dirs: [Direction, Direction];
  private receiver: LinkReceiver | null = null;
  private blackoutFrom = 0;
  private blackoutUntil = 0;
  // Held frames: fixed slots in one buffer, each with its own reusable timer.
  private readonly slotSize: number;
  private readonly store: Uint8Array;
  private readonly slotLen: Int32Array;
  private readonly slotDir: Uint8Array;
  private readonly slotTimers: Timer[] = [];
  private readonly freeSlots: number[] = [];

  /** Wraps `inner`; see impairLink. */
  constructor(inner: Link, options: ImpairLinkOptions) {
    this.inner = inner;
    this.mac = inner.mac;
    this.mtu = inner.mtu;
    if (inner.minFrameLength !== undefined) this.minFrameLength = inner.minFrameLength;
    this.clock = options.clock;
    this.driver = new TimerDriver(options.clock, options.timers);
    this.rng = seededEntropy(options.seed ?? 1);
    this.dirs = [new Direction(options.outbound ?? {}), new Direction(options.inbound ?? {})];
    const slots = options.maxHeldFrames ?? 4096;
    this.slotSize = inner.mtu + ETHER_HDR_LEN + 4;
    this.store = new Uint8Array(slots * this.slotSize);
    this.slotLen = new Int32Array(slots);
    this.slotDir = new Uint8Array(slots);
    for (let i = slots - 1; i >= 0; i--) {
      this.freeSlots.push(i);
      this.slotTimers.push(this.driver.timer(() => this.release(i)));
    }
    this.slotTimers.reverse();
    inner.setReceiver({ receiveFrame: (f, o, l) => this.offer(IN, f, o, l) });
  }

  /** Replaces the impairment of one direction ('outbound' = frames this end sends). */
  setImpairment(direction: 'outbound' | 'inbound', impairment: Impairment): void {
    this.dirs[direction === 'outbound' ? OUT : IN]!.cfg = impairment;
  }

  /** Drops every frame, both ways, from now for `durationMs` (a cable pulled and put back). */
  blackout(durationMs: number): void {
    this.blackoutFrom = this.clock.now();
    this.blackoutUntil = this.blackoutFrom + durationMs;
  }

  /** Frames currently held for delayed delivery. */
  get held(): number {
    return this.slotLen.length - this.freeSlots.length;
  }

  transmit(frame: Uint8Array, offset: number, length: number): number {
    this.offer(OUT, frame, offset, length);
    return 0;
  }

  setReceiver(receiver: LinkReceiver | null): void {
    this.receiver = receiver;
  }

  private chance(p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.rng.random32() / 4294967296 < p;
  }

  private offer(dir: number, frame: Uint8Array, offset: number, length: number): void {
    this.stats.offered++;
    const now = this.clock.now();
    if (now >= this.blackoutFrom && now < this.blackoutUntil) {
      this.stats.blackedOut++;
      return;
    }
    const d = this.dirs[dir]!;
    if (this.chance(d.cfg.loss)) {
      this.stats.lost++;
      return;
    }
    const copies = this.chance(d.cfg.duplicate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let c = 0; c < copies; c++) this.schedule(dir, d, frame, offset, length, now);
  }

  private schedule(dir: number, d: Direction, frame: Uint8Array, offset: number, length: number, now: number): void {
    const cfg = d.cfg;
    let at = now;
    if (cfg.rateBitsPerSec !== undefined && cfg.rateBitsPerSec > 0) {
      const start = Math.max(now, d.busyUntil);
      const queued = ((start - now) * cfg.rateBitsPerSec) / 8000;
      if (queued + length > (cfg.queueBytes ?? 256 * 1024)) {
        this.stats.overflowed++;
        return;
      }
      d.busyUntil = start + (length * 8000) / cfg.rateBitsPerSec;
      at = d.busyUntil;
    }
    at += cfg.delayMs ?? 0;
    if (cfg.jitterMs) at += (this.rng.random32() / 4294967296) * cfg.jitterMs;
    if (this.chance(cfg.reorder)) {
      this.stats.reordered++;
      at += cfg.reorderDelayMs ?? 2 * (cfg.delayMs ?? 0) + 1;
    }
    if (at <= now) {
      this.pass(dir, frame, offset, length);
      return;
    }
    const slot = this.freeSlots.pop();
    if (slot === undefined || length > this.slotSize) {
      this.stats.overflowed++;
      return;
    }
    this.store.set(frame.subarray(offset, offset + length), slot * this.slotSize);
    this.slotLen[slot] = length;
    this.slotDir[slot] = dir;
    this.driver.armAt(this.slotTimers[slot]!, at);
  }

  private release(slot: number): void {
    const len = this.slotLen[slot]!;
    const dir = this.slotDir[slot]!;
    const now = this.clock.now();
    if (now >= this.blackoutFrom && now < this.blackoutUntil) this.stats.blackedOut++;
    else this.pass(dir, this.store, slot * this.slotSize, len);
    this.freeSlots.push(slot);
  }

  private pass(dir: number, frame: Uint8Array, offset: number, length: number): void {
    this.stats.delivered++;
    if (dir === OUT) this.inner.transmit(frame, offset, length);
    else this.receiver?.receiveFrame(frame, offset, length);
  }
}

/**
 * Wraps `link` in the impairment shim. Throws NetError EINVAL when a
 * probability lies outside [0, 1].
 */
export function impairLink(link: Link, options: ImpairLinkOptions): ImpairedLink {
  for (const imp of [options.outbound, options.inbound]) {
    for (const p of [imp?.loss, imp?.duplicate, imp?.reorder]) {
      if (p !== undefined && !(p >= 0 && p <= 1)) throw new NetError('EINVAL', `impairLink: probability ${p} outside [0, 1]`);
    }
  }
  return new ImpairedLink(link, options);
}
