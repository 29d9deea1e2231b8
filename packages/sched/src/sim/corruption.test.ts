/**
 * A buggy or hostile peer sharing the scheduler area writes garbage into it
 * while threads run. The scheduler must neither hang nor crash with anything
 * but a SchedError; what it cannot trust it counts as corruption and skips.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Simulation } from './simulation.js';
import { SchedError } from '../errors.js';
import { CPU_LAYOUT } from '../internal/sharedLayout.js';

const MS = 1_000_000;

describe('a corrupted scheduler area', () => {
  it('fuzz: garbage in CPU blocks, thread slots and sync blocks never hangs a run', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat(), fc.integer()), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 60 }),
        async (writes, atStep) => {
          const sim = new Simulation({ cpus: 2, threads: 32, syncObjects: 8 });
          const s = sim.sched;
          const a = s.semaphore(0);
          const b = s.semaphore(0);
          const m = s.mutex();
          const errors: unknown[] = [];
          const guard = (f: () => Promise<void>) => async () => {
            try {
              await f();
            } catch (e) {
              errors.push(e);
            }
          };
          s.spawn(guard(async () => {
            for (let i = 0; i < 200; i++) {
              a.post();
              await b.wait();
              await m.lock();
              await sim.compute(0.01 * MS);
              m.unlock();
            }
          }), { cpu: 0 });
          s.spawn(guard(async () => {
            for (let i = 0; i < 200; i++) {
              await a.wait();
              b.post();
              await sim.sched.sleep(0.02 * MS);
            }
          }), { cpu: 1 });
          await sim.run({ maxSteps: atStep });
          const area = s.area;
          for (const [where, idx, v] of writes) {
            let w: number;
            if (where === 0) w = area.cpuWord(idx % 2, idx % CPU_LAYOUT.SIZE);
            else if (where === 1) w = area.slotBase + (idx % (32 * 32));
            else w = area.syncBase + (idx % (8 * 8));
            area.i32[w] = v;
          }
          // Bounded: whatever the garbage did, the run ends (or stops with a SchedError).
          try {
            await sim.run({ maxSteps: 20_000, untilNs: 10_000 * MS });
          } catch (e) {
            errors.push(e);
          }
          for (const e of errors) expect(e).toBeInstanceOf(SchedError);
        },
      ),
      { numRuns: 60 },
    );
  });
});
