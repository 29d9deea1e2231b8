import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RunQueue, runsBefore, type RunQueueEntry } from './runQueue.js';

const entry = (rtt: number, realtime: number, seq: number): RunQueueEntry => ({ rtt, realtime, seq, heapIndex: -1 });

describe('RunQueue', () => {
  it('pops in run order under any mix of pushes, pops and removals', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('push' as const), rtt: fc.double({ min: -1, max: 1, noNaN: true }), rt: fc.integer({ min: 0, max: 3 }) }),
            fc.record({ op: fc.constant('pop' as const) }),
            fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
          ),
          { maxLength: 200 },
        ),
        (ops) => {
          const q = new RunQueue<RunQueueEntry>();
          const model: RunQueueEntry[] = [];
          let seq = 0;
          for (const o of ops) {
            if (o.op === 'push') {
              const e = entry(o.rtt, o.rt, ++seq);
              q.push(e);
              model.push(e);
            } else if (o.op === 'pop') {
              model.sort((a, b) => (runsBefore(a, b) ? -1 : runsBefore(b, a) ? 1 : 0));
              const want = model.shift();
              expect(q.pop()).toBe(want);
            } else if (model.length > 0) {
              const victim = model.splice(o.pick % model.length, 1)[0]!;
              expect(q.remove(victim)).toBe(true);
              expect(q.remove(victim)).toBe(false);
            }
            expect(q.size).toBe(model.length);
          }
        },
      ),
    );
  });

  it("orders real-time first (higher first, FIFO among equals), then least R'', FIFO among equal R''", () => {
    const q = new RunQueue<RunQueueEntry>();
    const a = entry(0.5, 0, 1);
    const b = entry(0.1, 0, 2);
    const c = entry(0.1, 0, 3);
    const r1 = entry(9, 1, 4);
    const r5 = entry(9, 5, 5);
    const r1b = entry(-9, 1, 6);
    for (const e of [a, b, c, r1, r5, r1b]) q.push(e);
    expect([q.pop(), q.pop(), q.pop(), q.pop(), q.pop(), q.pop()]).toEqual([r5, r1, r1b, b, c, a]);
    expect(q.pop()).toBeUndefined();
  });
});
