/**
 * A CPU's idle loop on a real clock (OSv's cpu::idle / do_idle): run what is
 * runnable; when nothing is, spin-poll the incoming queues (and the host's
 * pending interrupts) for the idle's poll budget, then publish CPU_SLEEPING,
 * check once more and sleep until the next timer deadline or a wake IPI.
 * Returns when the area's STOP word is set and the CPU is idle.
 */
import type { Cpu } from './cpu.js';
import type { CpuIdle } from '../interfaces.js';
import { CPU_OFFLINE, CPU_POLLING, CPU_RUNNING, CPU_SLEEPING } from '../constants.js';

/** Runs the loop; resolves after STOP (word `stopWord` of the area) is seen while idle. */
export async function runIdleLoop(cpu: Cpu, idle: CpuIdle, stopWord: number): Promise<void> {
  const view = cpu.host.words.view;
  const i32 = cpu.host.area.i32;
  Atomics.store(view, cpu.stateIdx, CPU_RUNNING);
  for (;;) {
    if (Atomics.load(i32, stopWord) !== 0) break;
    if (cpu.idleStep()) {
      await cpu.parkIdle();
      continue;
    }
    // Promise jobs queued by what ran last (a poll hook settling a device's
    // promise, a thread's last step) may be the ones that wake a thread; the
    // loop below is synchronous and its sleep blocks them, so let them run now.
    if (await settleJobs(cpu)) continue;
    const r = waitForWork(cpu, idle, stopWord);
    if (r !== undefined) await r;
  }
  Atomics.store(view, cpu.stateIdx, CPU_OFFLINE);
}

/**
 * Promise-job turns the idle loop yields before it polls or sleeps: enough for
 * the reaction chains a settled I/O promise runs through before it wakes its
 * thread (a few hops each), cheap when nothing is queued (one hop ~0.1 µs).
 */
const SETTLE_TURNS = 32;

/** Yields up to SETTLE_TURNS promise-job turns; true as soon as a thread became runnable. */
async function settleJobs(cpu: Cpu): Promise<boolean> {
  for (let i = 0; i < SETTLE_TURNS; i++) {
    await undefined;
    if (cpu.hasWork()) return true;
  }
  return false;
}

function waitForWork(cpu: Cpu, idle: CpuIdle, stopWord: number): Promise<void> | undefined {
  const host = cpu.host;
  const view = host.words.view;
  const i32 = host.area.i32;
  const clock = host.clock;
  const id = cpu.id;
  Atomics.store(view, cpu.stateIdx, CPU_POLLING);
  if (cpu.pollWindowNs < 0) cpu.pollWindowNs = idle.pollNs;
  const window = cpu.pollWindowNs;
  if (window > 0) {
    const until = Math.min(clock.nowNs() + window, cpu.nextEventNs());
    for (let k = 1; ; k++) {
      if (cpu.hasWork() || Atomics.load(i32, stopWord) !== 0 || (idle.poll !== undefined && idle.poll(id))) return running(view, cpu);
      if ((k & 31) === 0 && clock.nowNs() >= until) break;
    }
  }
  if (clock.nowNs() >= cpu.nextEventNs()) return running(view, cpu);
  const token = idle.prepareSleep(id);
  Atomics.store(view, cpu.stateIdx, CPU_SLEEPING);
  // The last check, after CPU_SLEEPING is visible: a waker that pushed before it saw our state is caught here.
  if (cpu.hasWork() || Atomics.load(i32, stopWord) !== 0 || (idle.poll !== undefined && idle.poll(id))) return running(view, cpu);
  cpu.stats.sleeps++;
  const deadline = cpu.nextEventNs();
  const slept = clock.nowNs();
  const r = idle.sleep(id, token, deadline);
  if (r === undefined) {
    adaptPollWindow(cpu, idle, clock.nowNs() - slept, clock.nowNs() >= deadline);
    return running(view, cpu);
  }
  return r.then(() => {
    adaptPollWindow(cpu, idle, clock.nowNs() - slept, clock.nowNs() >= deadline);
    running(view, cpu);
  });
}

/**
 * KVM's halt-polling rule (CpuIdle.maxPollNs): a sleep a wake-up ended within
 * the maximum window doubles the window, a longer one halves it; a sleep that
 * ran to its timer deadline says nothing (timers are polled up to anyway).
 */
function adaptPollWindow(cpu: Cpu, idle: CpuIdle, sleptNs: number, toDeadline: boolean): void {
  const max = idle.maxPollNs ?? 0;
  if (!(max > idle.pollNs) || toDeadline) return;
  const w = cpu.pollWindowNs;
  if (sleptNs < max) cpu.pollWindowNs = Math.min(max, Math.max(w * 2, idle.pollNs, 1000));
  else cpu.pollWindowNs = Math.max(idle.pollNs, Math.floor(w / 2));
}

function running(view: Int32Array, cpu: Cpu): undefined {
  Atomics.store(view, cpu.stateIdx, CPU_RUNNING);
  return undefined;
}
