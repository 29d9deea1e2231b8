/**
 * netchannel's TimerService and Clock on the kernel scheduler: each armed
 * timer is a sched Timer on this vCPU (its callback runs in scheduler context,
 * never inside the stack call that armed it), the clock is the machine's
 * monotonic clock in milliseconds. netchannel keeps its own timer heap and
 * asks for one timer at a time, so this map stays tiny.
 */
import type { Clock, TimerHandle, TimerService } from '@osv-ts/netchannel';
import type { Scheduler, Timer } from '@osv-ts/sched';

/** A millisecond clock over a nanosecond one. */
export function msClock(nowNs: () => number): Clock {
  return { now: () => nowNs() / 1e6 };
}

/** Timers for netchannel on `sched`, on the calling vCPU. */
export function schedTimers(sched: Scheduler): TimerService {
  const armed = new Map<TimerHandle, Timer>();
  let next = 1;
  return {
    setTimer(deadlineMs: number, fire: () => void): TimerHandle {
      const handle = next++;
      const t = sched.timer(() => {
        armed.delete(handle);
        fire();
      });
      armed.set(handle, t);
      t.armAt(Math.max(0, Math.ceil(deadlineMs * 1e6)));
      return handle;
    },
    clearTimer(handle: TimerHandle): void {
      armed.get(handle)?.cancel();
      armed.delete(handle);
    },
  };
}
