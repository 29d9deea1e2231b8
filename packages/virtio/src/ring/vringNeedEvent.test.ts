import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { vringNeedEvent } from './vringNeedEvent.js';

describe('vringNeedEvent (virtio-v1.2 2.7.7.2, 2.7.10)', () => {
  it('signals exactly when event_idx lies in [old, new)', () => {
    expect(vringNeedEvent(5, 6, 5)).toBe(true);
    expect(vringNeedEvent(5, 5, 4)).toBe(false);
    expect(vringNeedEvent(4, 10, 5)).toBe(false);
    expect(vringNeedEvent(9, 10, 5)).toBe(true);
    expect(vringNeedEvent(10, 10, 5)).toBe(false);
    expect(vringNeedEvent(3, 3, 3)).toBe(false);
  });

  it('holds across the 16-bit wrap', () => {
    expect(vringNeedEvent(0xffff, 2, 0xfffe)).toBe(true);
    expect(vringNeedEvent(0, 2, 0xfffe)).toBe(true);
    expect(vringNeedEvent(2, 2, 0xfffe)).toBe(false);
    expect(vringNeedEvent(0xfffd, 2, 0xfffe)).toBe(false);
  });

  it('matches a membership test on the unwrapped window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0x7fff }), fc.integer({ min: 0, max: 0xffff }), (old, step, ev) => {
        const nw = (old + step) & 0xffff;
        let inWindow = false;
        for (let i = 0; i < step && !inWindow; i++) inWindow = ((old + i) & 0xffff) === ev;
        return vringNeedEvent(ev, nw, old) === inWindow;
      }),
      { numRuns: 2000 },
    );
  });
});
