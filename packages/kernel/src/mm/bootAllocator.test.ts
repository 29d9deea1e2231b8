import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KernelError } from '../errors.js';
import { BootAllocator } from './bootAllocator.js';

describe('BootAllocator', () => {
  it('hands out aligned, disjoint ranges inside the free ranges until they run out', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ bytes: fc.integer({ min: 1, max: 5000 }), alignLog: fc.integer({ min: 0, max: 13 }) }), { maxLength: 60 }),
        (reqs) => {
          const free = [
            { base: 0x10_0000, length: 0x8000 },
            { base: 0x20_0000, length: 0x3_0000 },
          ];
          const a = new BootAllocator(free);
          const got: [number, number][] = [];
          for (const { bytes, alignLog } of reqs) {
            const align = 2 ** alignLog;
            let addr: number;
            try {
              addr = a.alloc(bytes, align);
            } catch (e) {
              expect(e).toBeInstanceOf(KernelError);
              expect((e as KernelError).code).toBe('ENOMEM');
              continue;
            }
            expect(addr % align).toBe(0);
            expect(free.some((r) => addr >= r.base && addr + bytes <= r.base + r.length)).toBe(true);
            for (const [s, n] of got) expect(addr + bytes <= s || addr >= s + n).toBe(true);
            got.push([addr, bytes]);
          }
          for (const r of a.remaining()) for (const [s, n] of got) expect(r.base + r.length <= s || r.base >= s + n).toBe(true);
        },
      ),
    );
  });

  it('refuses a bad alignment', () => {
    expect(() => new BootAllocator([{ base: 0, length: 100 }]).alloc(4, 3)).toThrow(/aligned to 3/);
  });
});
