/**
 * OSv's thread_runtime (core/sched.cc, include/osv/sched.hh): each thread's
 * run time R decays exponentially with time constant tau, and the run queue is
 * ordered by it. Instead of decaying every thread's R as time passes, OSv keeps
 * R'' = R·c in each thread, where c is one per-CPU normaliser that grows as
 * e^(t/tau) with the CPU's elapsed time: running for dt adds p·(c_new − c_old)
 * to the running thread's R'' and leaves every other thread's R'' untouched,
 * which is the same as decaying all of them. When c reaches CMAX every runnable
 * thread's R'' and c itself are scaled down by CINITIAL/CMAX
 * (renormalisation); a sleeping thread catches up on the renormalisations it
 * missed when it wakes (updateAfterSleep), by comparing its count with the
 * CPU's.
 *
 * Units: times in ns; R'' in units of c (dimensionless). Numbers are doubles
 * (OSv uses float); the constants are OSv's so renormalisation happens at the
 * same moments.
 */
import { HYSTERESIS_NS, PREEMPT_PENALTY_NS, TAU_NS } from '../constants.js';

/** Normaliser ceiling: renormalise when c reaches it (OSv's cmax). */
export const CMAX = 2 ** 63;
/** Normaliser start value (OSv's cinitial). */
export const CINITIAL = 2 ** -63;
const RENORM_FACTOR = CINITIAL / CMAX;
const HYST_MUL = Math.exp(HYSTERESIS_NS / TAU_NS);
const HYST_DIV = Math.exp(-HYSTERESIS_NS / TAU_NS);
const PENALTY_MUL = Math.exp(PREEMPT_PENALTY_NS / TAU_NS);
/** tau·ln(x)·1.01: OSv overshoots time_until by 1% so a thread never wakes just short of its turn. */
const TAU_OVERSHOOT = TAU_NS * 1.01;

/** The per-CPU half: the normaliser and its renormalisation count. Owned by that CPU. */
export interface CpuRuntime {
  c: number;
  renorm: number;
}

/** The per-thread half. Owned by the thread's CPU. */
export interface ThreadRuntime {
  /** R'': decayed run time times the CPU's normaliser. */
  rtt: number;
  /** Weight of charged time: 1 normal, smaller gets more CPU, Infinity idle. */
  priority: number;
  /** The CPU renormalisation count rtt is relative to; -1: rtt is global (exported, or a new thread). */
  renorm: number;
}

/** e^(ns/tau); for |ns| < tau/1000, OSv's 1 + ns/tau (error O(x²) < 1e-6). */
function expTau(ns: number): number {
  return ns < TAU_NS / 1000 && ns > -TAU_NS / 1000 ? 1 + ns / TAU_NS : Math.exp(ns / TAU_NS);
}

function bump(cpu: CpuRuntime, t: ThreadRuntime | null, mul: number, queued: Iterable<ThreadRuntime>): void {
  const cold = cpu.c;
  const cnew = cold * mul;
  // A clock jump so large that c overflows: ignore the interval, as OSv does.
  if (!(cnew < Number.POSITIVE_INFINITY)) return;
  cpu.c = cnew;
  if (t !== null) {
    if (t.rtt === 0) t.renorm = cpu.renorm;
    t.rtt = t.priority === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : t.rtt + t.priority * (cnew - cold);
  }
  if (cnew >= CMAX) renormalize(cpu, t, queued);
}

function renormalize(cpu: CpuRuntime, t: ThreadRuntime | null, queued: Iterable<ThreadRuntime>): void {
  cpu.renorm = cpu.renorm >= 0x3fffffff ? 0 : cpu.renorm + 1;
  if (t !== null) {
    t.rtt *= RENORM_FACTOR;
    t.renorm = cpu.renorm;
  }
  for (const q of queued) {
    if (q.renorm >= 0) {
      q.rtt *= RENORM_FACTOR;
      q.renorm++;
    }
  }
  cpu.c *= RENORM_FACTOR;
}

/**
 * Charges `t` for running `ns` on `cpu` (OSv's ran_for); with t null, just
 * lets the CPU's time pass (idle). `queued` is the CPU's run queue, touched
 * only when a renormalisation happens.
 */
export function ranFor(cpu: CpuRuntime, t: ThreadRuntime | null, ns: number, queued: Iterable<ThreadRuntime>): void {
  bump(cpu, t, expTau(ns), queued);
}

/** Lends the thread being switched in thyst of run time (OSv's hysteresis_run_start). */
export function hysteresisRunStart(cpu: CpuRuntime, t: ThreadRuntime): void {
  if (t.rtt === 0) t.renorm = cpu.renorm;
  const cold = cpu.c;
  const cnew = cold * HYST_DIV;
  cpu.c = cnew;
  // Priority Infinity must stay at +Infinity: Infinity·(negative) would be -Infinity.
  t.rtt = t.priority === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : t.rtt + t.priority * (cnew - cold);
}

/** Takes the lent run time back from the thread being switched out (OSv's hysteresis_run_stop). */
export function hysteresisRunStop(cpu: CpuRuntime, t: ThreadRuntime, queued: Iterable<ThreadRuntime>): void {
  bump(cpu, t, HYST_MUL, queued);
}

/** Charges the preemption penalty (OSv's add_context_switch_penalty). */
export function addPreemptPenalty(cpu: CpuRuntime, t: ThreadRuntime, queued: Iterable<ThreadRuntime>): void {
  bump(cpu, t, PENALTY_MUL, queued);
}

/**
 * How long `t` may run before its R'' reaches `target` (OSv's time_until), ns;
 * -1 when never (idle priority, an idle-priority target, or too far to say).
 */
export function timeUntil(cpu: CpuRuntime, t: ThreadRuntime, target: number): number {
  if (t.priority === Number.POSITIVE_INFINITY || target === Number.POSITIVE_INFINITY) return -1;
  const x = 1 + (target - t.rtt) / t.priority / cpu.c;
  if (!(x > 0)) return 0;
  const ns = TAU_OVERSHOOT * Math.log(x);
  return ns < 2 ** 53 ? ns : -1;
}

/** Turns `t`'s CPU-local R'' into a global value before it moves to another CPU (OSv's export_runtime). */
export function exportRuntime(cpu: CpuRuntime, t: ThreadRuntime): void {
  if (t.renorm !== -1) {
    t.rtt /= cpu.c;
    t.renorm = -1;
  }
}

/**
 * Brings a waking (or arriving) thread's R'' up to date with `cpu`: converts a
 * global value to this CPU's scale, or applies the renormalisations it slept
 * through (OSv's update_after_sleep).
 */
export function updateAfterSleep(cpu: CpuRuntime, t: ThreadRuntime): void {
  if (t.renorm === cpu.renorm) return;
  if (t.renorm === -1) t.rtt *= cpu.c;
  else if (t.renorm + 1 === cpu.renorm) t.rtt *= RENORM_FACTOR;
  else if (t.rtt !== Number.POSITIVE_INFINITY) t.rtt = 0; // two or more missed: R'' would be far below zero's resolution
  t.renorm = cpu.renorm;
}
