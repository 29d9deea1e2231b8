import { describe, expect, it } from 'vitest';
import { AtomicsIdle } from './atomicsIdle.js';

describe('AtomicsIdle', () => {
  it('a wake IPI changes the token, so a sleep with the old token returns at once; the IRQ bit is raised', () => {
    const view = new Int32Array(new SharedArrayBuffer(64));
    const idle = new AtomicsIdle({ view, wakeIndex: (c) => c, irq: { view, index: (c) => 8 + c, bit: 0 } }, { nowNs: () => 0 });
    const token = idle.prepareSleep(1);
    idle.sendWake(1);
    expect(idle.prepareSleep(1)).toBe(token + 1);
    expect(view[9]! & 1).toBe(1);
    idle.sleep(1, token, Number.POSITIVE_INFINITY); // returns: the word moved
    idle.sleep(1, token + 1, -1); // returns: the deadline has passed
    expect(idle.poll(1)).toBe(false);
  });

  it('calls the interrupt hook while polling', () => {
    const view = new Int32Array(new SharedArrayBuffer(8));
    const seen: number[] = [];
    const idle = new AtomicsIdle({ view, wakeIndex: () => 0 }, { nowNs: () => 0 }, 0, (cpu) => (seen.push(cpu), true));
    expect(idle.poll(3)).toBe(true);
    expect(seen).toEqual([3]);
    expect(idle.pollNs).toBe(0);
  });
});
