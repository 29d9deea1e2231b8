/**
 * The I/O poller with a fake vCPU and fake sources: it runs only while a
 * source is busy, lets the program's continuations run between turns,
 * sleeps only after the configured idle turns and only when every busy
 * source armed its interrupts, wakes for deadlines, and hands each interrupt
 * line to its source.
 */
import { describe, expect, it } from 'vitest';
import { IoWait, type IoSource, type IoWaitCpu } from './ioWait.js';

class FakeCpu implements IoWaitCpu {
  pending = 0;
  now = 0;
  sleeps: number[] = [];
  onIdle: (() => void) | null = null;
  readonly hw = { monotonicNs: () => this.now };
  takeInterrupts(): number {
    const p = this.pending;
    this.pending = 0;
    return p;
  }
  idle(ms: number): number {
    this.sleeps.push(ms);
    this.now += ms * 1e6;
    this.onIdle?.();
    return this.pending;
  }
}

class FakeSource implements IoSource {
  inFlight = 0;
  completeAt = Infinity; // poll() completes everything once this many polls have happened
  polls = 0;
  armed = 0;
  interrupts = 0;
  deadlineNs = Infinity;
  constructor(readonly irq: number) {}
  busy(): boolean {
    return this.inFlight > 0;
  }
  poll(): number {
    if (++this.polls < this.completeAt || this.inFlight === 0) return 0;
    const n = this.inFlight;
    this.inFlight = 0;
    return n;
  }
  arm(): boolean {
    this.armed++;
    return true;
  }
  disarm(): void {}
  deadline(): number {
    return this.deadlineNs;
  }
  interrupt(): void {
    this.interrupts++;
  }
}

const drain = async (): Promise<void> => {
  for (let i = 0; i < 1000; i++) await null;
};

describe('IoWait (until the scheduler replaces it)', () => {
  it('polls while a source is busy and stops when nothing is', async () => {
    const cpu = new FakeCpu();
    const io = new IoWait(cpu);
    const s = new FakeSource(9);
    io.add(s);
    s.inFlight = 3;
    s.completeAt = 5;
    io.wake();
    await drain();
    expect(s.inFlight).toBe(0);
    const polls = s.polls;
    await drain();
    expect(s.polls).toBe(polls); // stopped
    expect(cpu.sleeps).toEqual([]); // completions came within the idle turns
  });

  it('sleeps after pollTurns idle turns, with interrupts armed, and wakes on the interrupt', async () => {
    const cpu = new FakeCpu();
    const io = new IoWait(cpu);
    io.setPolicy({ pollTurns: 4, suppressInterrupts: true });
    const s = new FakeSource(9);
    io.add(s);
    s.inFlight = 1;
    cpu.onIdle = () => {
      cpu.pending = 1 << 9;
      s.completeAt = 0;
    };
    io.wake();
    await drain();
    expect(s.inFlight).toBe(0);
    expect(cpu.sleeps.length).toBe(1);
    expect(s.armed).toBeGreaterThanOrEqual(1);
    expect(s.interrupts).toBe(1);
    expect(io.stats.sleeps).toBe(1);
  });

  it('sleeps no longer than the earliest deadline', async () => {
    const cpu = new FakeCpu();
    const io = new IoWait(cpu);
    io.setPolicy({ pollTurns: 0, suppressInterrupts: true });
    const s = new FakeSource(-1);
    io.add(s);
    s.inFlight = 1;
    s.deadlineNs = 3e6;
    cpu.onIdle = () => {
      if (cpu.now >= s.deadlineNs) s.completeAt = 0;
    };
    io.wake();
    await drain();
    expect(cpu.sleeps[0]).toBe(3);
  });

  it('hands each interrupt line only to its own source', async () => {
    const cpu = new FakeCpu();
    const io = new IoWait(cpu);
    const a = new FakeSource(9);
    const b = new FakeSource(10);
    io.add(a);
    io.add(b);
    a.inFlight = 1;
    a.completeAt = 3;
    cpu.pending = 1 << 10;
    io.wake();
    await drain();
    expect(b.interrupts).toBe(1);
    expect(a.interrupts).toBe(0);
  });

  it('waitSync blocks until the condition holds or the time is up', () => {
    const cpu = new FakeCpu();
    const io = new IoWait(cpu);
    let n = 0;
    expect(io.waitSync(() => ++n > 3, 1000)).toBe(true);
    expect(io.waitSync(() => false, 25)).toBe(false);
    expect(cpu.now).toBeGreaterThanOrEqual(25e6);
  });
});
