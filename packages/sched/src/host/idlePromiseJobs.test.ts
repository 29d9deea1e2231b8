/**
 * The idle loop with a blocking idle (AtomicsIdle, as on an hv vCPU) must let
 * promise jobs run before it sleeps. A device completion seen by the idle's
 * poll hook settles a promise; the thread waiting for it is woken by a
 * reaction several promise hops later (that is how the kernel's socket waits
 * work). If the loop went to sleep straight after the hook, those hops could
 * not run until the next timer deadline: the waiter would sleep through it.
 */
import { describe, expect, it } from 'vitest';
import { AtomicsIdle } from '../atomicsIdle.js';
import { Scheduler } from '../scheduler.js';
import { nodeClock } from './nodeClock.js';

describe('idle loop and promise jobs', () => {
  it('a thread woken from a promise chain settled in the poll hook runs before the next timer', async () => {
    const clock = nodeClock();
    const words = new Int32Array(new SharedArrayBuffer(16));
    let waiting = false;
    let fired = false;
    let complete: () => void = () => {};
    const device = new Promise<void>((resolve) => (complete = resolve));
    // The "interrupt": once the waiter is parked, the hook completes the device's promise.
    const idle = new AtomicsIdle({ view: words, wakeIndex: () => 0 }, clock, 20_000, () => {
      if (!waiting || fired) return false;
      fired = true;
      complete();
      return true;
    });
    const sched = Scheduler.create({ cpus: 1, clock, idle, ipi: idle, balance: false });
    const order: string[] = [];
    let flag = false;
    const waiter = sched.spawn(async () => {
      const me = sched.current()!.id;
      // Five hops between the device's promise and the wake, as a socket read takes.
      void device
        .then(() => 1)
        .then((x) => x + 1)
        .then((x) => x + 1)
        .then((x) => x + 1)
        .then(() => {
          flag = true;
          sched.wake(me);
        });
      waiting = true;
      await sched.waitUntil(() => flag);
      order.push('woken');
      sched.stop();
    });
    sched.spawn(async () => {
      await sched.sleep(3e9); // the only timer: a loop that slept through the chain wakes only here
      order.push('timer');
      sched.stop();
    });
    waiter.detach();
    await sched.runCpu();
    expect(fired).toBe(true);
    expect(order[0]).toBe('woken');
  }, 20_000);
});

describe('adaptive halt-polling (CpuIdle.maxPollNs)', () => {
  /** A scheduler whose idle "sleeps" by moving a fake clock `sleepNs` forward; runs `rounds` sleeps and returns the window after each. */
  async function windows(sleepNs: () => number, rounds: number, maxPollNs: number | undefined, deadlineNs: number): Promise<number[]> {
    let now = 0;
    const clock = { nowNs: (): number => (now += 100) };
    const out: number[] = [];
    let sched!: Scheduler;
    const idle = {
      pollNs: 20_000,
      ...(maxPollNs === undefined ? {} : { maxPollNs }),
      prepareSleep: (): number => 0,
      sleep: (): void => {
        now += sleepNs();
      },
    };
    sched = Scheduler.create({ cpus: 1, clock, idle, ipi: { sendWake: () => {} }, balance: false });
    sched.spawn(async () => {
      for (let i = 0; i < rounds; i++) {
        await sched.sleep(deadlineNs); // each idle sleep below ends before it, as if woken
        out.push(sched.stats(0).pollWindowNs);
      }
      sched.stop();
    });
    await sched.runCpu();
    return out;
  }

  it('wake-ups that come soon grow the poll window up to the maximum; long sleeps shrink it back', async () => {
    // Every sleep ends 30 µs in: the window doubles from 20 µs to the 200 µs cap.
    const short = await windows(() => 30_000, 1, 200_000, 1e6);
    expect(short[0]).toBe(200_000);
    let n = 0;
    // First short sleeps, then 10 ms ones: the window comes back down to pollNs.
    const mixed = await windows(() => (n++ < 20 ? 30_000 : 10_000_000), 2, 200_000, 1e8);
    expect(mixed[1]).toBe(20_000);
  });

  it('without maxPollNs the window stays pollNs', async () => {
    expect(await windows(() => 30_000, 1, undefined, 1e6)).toEqual([20_000]);
  });
});
