/**
 * The per-CPU normaliser must give exactly the exponentially decayed run time
 * OSv defines, without touching idle threads, across renormalisations.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CINITIAL,
  CMAX,
  exportRuntime,
  hysteresisRunStart,
  hysteresisRunStop,
  ranFor,
  timeUntil,
  updateAfterSleep,
  type CpuRuntime,
  type ThreadRuntime,
} from './runtime.js';
import { HYSTERESIS_NS, TAU_NS } from '../constants.js';

const cpu = (): CpuRuntime => ({ c: CINITIAL, renorm: 0 });
const thread = (priority = 1): ThreadRuntime => ({ rtt: 0, priority, renorm: -1 });

/** R of a thread, in ns of decayed run time: R'' / c · tau. */
const decayed = (c: CpuRuntime, t: ThreadRuntime): number => (t.rtt / c.c) * TAU_NS;

describe('decayed run time', () => {
  it('equals the explicit exponential average: R(t) = p · Σ run · e^{-(age)/tau}', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ who: fc.integer({ min: 0, max: 2 }), ns: fc.integer({ min: 1, max: 50_000_000 }) }), { maxLength: 60 }), (steps) => {
        const c = cpu();
        const ts = [thread(1), thread(0.5), thread(2)];
        const ref = [0, 0, 0];
        // OSv replaces e^x by 1 + x for |x| < 1/1000, which is off by at most x²·tau·p per step.
        const bound = [0, 0, 0];
        for (const { who, ns } of steps) {
          ranFor(c, ts[who]!, ns, []);
          // Reference: every R decays by e^{-ns/tau}; the runner gains p·tau·(1 − e^{-ns/tau}).
          const k = Math.exp(-ns / TAU_NS);
          for (let i = 0; i < 3; i++) ref[i] = ref[i]! * k;
          ref[who] = ref[who]! + ts[who]!.priority * TAU_NS * (1 - k);
          if (ns < TAU_NS / 1000) bound[who] = bound[who]! + (ns / TAU_NS) ** 2 * TAU_NS * ts[who]!.priority;
        }
        for (let i = 0; i < 3; i++) {
          expect(Math.abs(decayed(c, ts[i]!) - ref[i]!)).toBeLessThanOrEqual(bound[i]! + 1e-6 * ref[i]! + 1e-6);
        }
      }),
    );
  });

  it('renormalises before c overflows, scaling runnable threads and keeping their order', () => {
    const c = cpu();
    const running = thread();
    const queued = [thread(), thread(), thread()];
    queued.forEach((q, i) => ranFor(c, q, (i + 1) * 1_000_000, []));
    const before = queued.map((q) => decayed(c, q));
    for (let i = 0; i < 200; i++) ranFor(c, running, 100_000_000, queued); // 20 s: more than one renormalisation
    expect(c.renorm).toBeGreaterThanOrEqual(1);
    expect(c.c).toBeLessThan(CMAX);
    expect(Number.isFinite(running.rtt)).toBe(true);
    const after = queued.map((q) => decayed(c, q));
    expect(after[0]! < after[1]! && after[1]! < after[2]!).toBe(true);
    expect(after[2]! / after[0]!).toBeCloseTo(before[2]! / before[0]!, 6);
  });

  it('a sleeper catches up on missed renormalisations when it wakes', () => {
    const c = cpu();
    const hog = thread();
    const sleeper = thread();
    ranFor(c, sleeper, 50_000_000, []);
    const r0 = decayed(c, sleeper);
    // One renormalisation missed: scaled once on wake, so R keeps decaying as if touched.
    let elapsed = 0;
    while (c.renorm === 0) {
      ranFor(c, hog, 10_000_000, [hog]);
      elapsed += 10_000_000;
    }
    updateAfterSleep(c, sleeper);
    expect(sleeper.renorm).toBe(c.renorm);
    expect(decayed(c, sleeper)).toBeCloseTo(r0 * Math.exp(-elapsed / TAU_NS), 6);
    // Two or more missed: R'' would underflow anyway, so it is zero.
    while (c.renorm < 3) ranFor(c, hog, 100_000_000, [hog]);
    const s2 = thread();
    s2.rtt = 5;
    s2.renorm = 0;
    updateAfterSleep(c, s2);
    expect(s2.rtt).toBe(0);
  });

  it('exports a runtime to a global value and imports it on another CPU', () => {
    const a = cpu();
    const b: CpuRuntime = { c: CINITIAL * 1000, renorm: 4 };
    const t = thread();
    ranFor(a, t, 30_000_000, []);
    const r = t.rtt / a.c;
    exportRuntime(a, t);
    expect(t.renorm).toBe(-1);
    updateAfterSleep(b, t);
    expect(t.rtt / b.c).toBeCloseTo(r, 12);
  });

  it("timeUntil inverts ranFor (with OSv's 1% overshoot), and is -1 for idle priority", () => {
    const c = cpu();
    const t = thread();
    const target = thread();
    ranFor(c, target, 40_000_000, []);
    const d = timeUntil(c, t, target.rtt);
    ranFor(c, t, d / 1.01, []);
    expect(t.rtt / target.rtt).toBeCloseTo(1, 6);
    expect(timeUntil(c, thread(Number.POSITIVE_INFINITY), 1)).toBe(-1);
  });

  it('hysteresis lends thyst of run time and takes it back', () => {
    const c = cpu();
    const t = thread();
    ranFor(c, t, 20_000_000, []);
    const r = decayed(c, t);
    hysteresisRunStart(c, t);
    hysteresisRunStop(c, t, []);
    expect(decayed(c, t)).toBeCloseTo(r, 0);
    hysteresisRunStart(c, t);
    expect(decayed(c, t)).toBeLessThan(r);
    expect(r - decayed(c, t)).toBeGreaterThan(0.9 * HYSTERESIS_NS * Math.exp(-HYSTERESIS_NS / TAU_NS) * 0.9);
  });

  it('keeps an idle-priority thread at +Infinity', () => {
    const c = cpu();
    const idle = thread(Number.POSITIVE_INFINITY);
    hysteresisRunStart(c, idle);
    ranFor(c, idle, 1, []);
    hysteresisRunStop(c, idle, []);
    expect(idle.rtt).toBe(Number.POSITIVE_INFINITY);
  });
});
