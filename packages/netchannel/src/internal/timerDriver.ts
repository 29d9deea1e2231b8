/**
 * Joins a TimerQueue to an injected TimerService: the service holds at most one
 * timer, armed at the queue's earliest deadline. Re-arming a queue timer later
 * (TCP's usual move) costs the service nothing: when its timer fires early the
 * driver just re-arms it for the new earliest deadline.
 */
import type { Clock, TimerHandle, TimerService } from '../clock.js';
import { Timer, TimerQueue } from './timerQueue.js';

/** A TimerQueue driven by a Clock and a TimerService. Owned by one thread. */
export class TimerDriver {
  private readonly queue = new TimerQueue();
  private readonly clock: Clock;
  private readonly service: TimerService;
  private readonly runDue: () => void;
  private handle: TimerHandle = 0;
  /** Deadline of the service timer, Infinity when none is armed. */
  private armedAt = Infinity;
  private readonly onService = (): void => {
    this.armedAt = Infinity;
    this.runDue();
  };

  /**
   * `wrap` is called when the service timer fires; it must call `fireDue()`
   * (the stack wraps it to defer re-entrant work).
   */
  constructor(clock: Clock, service: TimerService, wrap?: (fireDue: () => void) => void) {
    this.clock = clock;
    this.service = service;
    const fire = (): void => this.fireDue();
    this.runDue = wrap ? () => wrap(fire) : fire;
  }

  /** Number of armed timers. */
  get size(): number {
    return this.queue.size;
  }

  /** Current time, ms. */
  now(): number {
    return this.clock.now();
  }

  /** Creates a reusable timer that calls `fire`. */
  timer(fire: () => void): Timer {
    return new Timer(fire);
  }

  /** Arms `t` to fire `delayMs` from now (moving it if armed). */
  armIn(t: Timer, delayMs: number): void {
    this.armAt(t, this.clock.now() + delayMs);
  }

  /** Arms `t` for the absolute time `deadline`. */
  armAt(t: Timer, deadline: number): void {
    this.queue.arm(t, deadline);
    if (deadline < this.armedAt) this.rearm(deadline);
  }

  /** Disarms `t`. */
  cancel(t: Timer): void {
    this.queue.cancel(t);
  }

  /** Fires every due timer in order, then re-arms the service for the rest. */
  fireDue(): void {
    for (;;) {
      const t = this.queue.popDue(this.clock.now());
      if (t === null) break;
      t.fire();
    }
    const next = this.queue.nextDeadline();
    if (next !== this.armedAt) {
      if (next === Infinity) this.disarmService();
      else this.rearm(next);
    }
  }

  private rearm(deadline: number): void {
    this.disarmService();
    this.armedAt = deadline;
    this.handle = this.service.setTimer(deadline, this.onService);
  }

  private disarmService(): void {
    if (this.armedAt !== Infinity) this.service.clearTimer(this.handle);
    this.armedAt = Infinity;
  }
}
