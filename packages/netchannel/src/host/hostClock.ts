/// <reference types="node" />
/**
 * Clock, timers and entropy from the Node host, for the hv's user-mode
 * network and for benchmarks. Guest code gets these from the kernel instead.
 */
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle, TimerService } from '../clock.js';
import type { Entropy } from '../entropy.js';

/** performance.now() and setTimeout, as a Clock and TimerService. */
export class HostClock implements Clock, TimerService {
  private readonly live = new Map<TimerHandle, NodeJS.Timeout>();
  private next = 1;

  /** Milliseconds since the process started (monotonic). */
  now(): number {
    return performance.now();
  }

  /** Fires `fire` at `deadlineMs` (or as soon after as Node's timers allow). */
  setTimer(deadlineMs: number, fire: () => void): TimerHandle {
    const h = this.next++;
    const t = setTimeout(() => {
      this.live.delete(h);
      fire();
    }, Math.max(0, deadlineMs - performance.now()));
    t.unref?.();
    this.live.set(h, t);
    return h;
  }

  /** Cancels a timer. */
  clearTimer(handle: TimerHandle): void {
    const t = this.live.get(handle);
    if (t !== undefined) clearTimeout(t);
    this.live.delete(handle);
  }
}

/** Entropy from the host's CSPRNG, drawn 1 KiB at a time. */
export function hostEntropy(): Entropy {
  const pool = new Uint32Array(256);
  let i = pool.length;
  return {
    random32(): number {
      if (i === pool.length) {
        randomFillSync(pool);
        i = 0;
      }
      return pool[i++]!;
    },
  };
}
