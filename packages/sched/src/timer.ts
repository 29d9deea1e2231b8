/**
 * A timer on one CPU (OSv's timer_base): its callback runs in scheduler
 * context on that CPU when the deadline passes: at the next scheduling point,
 * preemption point, or idle wake-up after it. Arming and cancelling are cheap
 * (see internal/timerList.ts); one Timer can be re-armed forever without
 * allocating.
 */
import type { SchedCore } from './internal/core.js';
import type { Cpu } from './internal/cpu.js';
import { TimerEntry } from './internal/timerList.js';
import { CPU_SLEEPING } from './constants.js';
import { SchedError } from './errors.js';

/** Get one from `Scheduler.timer(callback)`. */
export class Timer {
  private readonly entry: TimerEntry;

  /** @internal Use Scheduler.timer(). */
  constructor(
    private readonly core: SchedCore,
    private readonly cpu: Cpu,
    callback: () => void,
  ) {
    this.entry = new TimerEntry(callback);
  }

  /** The CPU whose scheduler runs the callback. */
  get cpuId(): number {
    return this.cpu.id;
  }

  /** Will it fire? */
  get armed(): boolean {
    return this.entry.armed;
  }

  /** Its deadline, ns on the scheduler's clock (meaningful while armed). */
  get deadlineNs(): number {
    return this.entry.deadline;
  }

  /**
   * Arms (or re-arms) it to fire at `deadlineNs` on the scheduler's clock.
   * Must be called on the timer's CPU (a thread homed there, its timers, or
   * host code of its isolate); throws SchedError EINVAL otherwise.
   */
  armAt(deadlineNs: number): void {
    const here = this.core.hereCpu();
    if (here !== this.cpu) throw new SchedError('EINVAL', `timer of CPU ${this.cpu.id} armed from CPU ${here.id}`);
    this.cpu.timers.arm(this.entry, deadlineNs);
    // Armed from outside any thread while the CPU sleeps: its idle deadline is stale.
    const words = this.cpu.host.words;
    if (this.cpu.current === null && Atomics.load(words.view, this.cpu.stateIdx) === CPU_SLEEPING) this.cpu.host.ipi.sendWake(this.cpu.id);
  }

  /** Arms it to fire `delayNs` from now. */
  armAfter(delayNs: number): void {
    this.armAt(this.core.clock.nowNs() + delayNs);
  }

  /** Disarms it; O(1). Safe to call when not armed. */
  cancel(): void {
    this.cpu.timers.cancel(this.entry);
  }
}
