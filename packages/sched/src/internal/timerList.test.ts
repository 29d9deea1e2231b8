import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TimerEntry, TimerList } from './timerList.js';

describe('TimerList', () => {
  it('fires exactly the armed timers that are due, in deadline order, against a model', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('arm' as const), t: fc.integer({ min: 0, max: 7 }), at: fc.integer({ min: 0, max: 1000 }) }),
            fc.record({ op: fc.constant('cancel' as const), t: fc.integer({ min: 0, max: 7 }) }),
            fc.record({ op: fc.constant('advance' as const), by: fc.integer({ min: 0, max: 200 }) }),
          ),
          { maxLength: 150 },
        ),
        (ops) => {
          const list = new TimerList();
          const fired: number[] = [];
          const timers = Array.from({ length: 8 }, (_, i) => new TimerEntry(() => fired.push(i)));
          const model = new Map<number, number>();
          let now = 0;
          for (const o of ops) {
            if (o.op === 'arm') {
              list.arm(timers[o.t]!, o.at);
              model.set(o.t, o.at);
            } else if (o.op === 'cancel') {
              list.cancel(timers[o.t]!);
              model.delete(o.t);
            } else {
              now += o.by;
              const due = [...model].filter(([, at]) => at <= now).sort((x, y) => x[1] - y[1]);
              fired.length = 0;
              list.expire(now);
              expect(fired.map((i) => model.get(i))).toEqual(due.map(([, at]) => at));
              expect(new Set(fired)).toEqual(new Set(due.map(([i]) => i)));
              for (const [i] of due) model.delete(i);
            }
            const earliest = Math.min(...model.values());
            expect(list.nextDeadline()).toBe(earliest);
            // Lazy deletion never holds more entries than there are timers.
            expect(list.heapSize).toBeLessThanOrEqual(8);
          }
        },
      ),
    );
  });

  it('a callback that re-arms itself in the past fires once per expire call, not in a loop', () => {
    const list = new TimerList();
    let n = 0;
    const e: TimerEntry = new TimerEntry(() => {
      n++;
      list.arm(e, 0);
    });
    list.arm(e, 0);
    list.expire(10);
    expect(n).toBe(1);
    list.expire(10);
    expect(n).toBe(2);
  });
});
