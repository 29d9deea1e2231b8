/**
 * The shrinker scenario of issue 5: a cache grows into free memory; a
 * competing allocation of 80% of RAM succeeds after the reclaimer shrinks the
 * cache; with no shrinker it fails with the out-of-memory error, not a crash.
 */
import { describe, expect, it } from 'vitest';
import { testMachine } from './internal/testMachine.js';
import type { Mmu } from './mmu.js';
import { MmuError } from './errors.js';
import { MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, PROT_READ, PROT_WRITE } from './mmapFlags.js';

const MEMORY = 64 << 20;
const ENTRY = 64 * 1024;

/** A cache of malloc'd 64 KiB entries that grows until free memory nears the low watermark. */
function growCache(mmu: Mmu): number[] {
  const entries: number[] = [];
  const info = mmu.memInfo();
  while (mmu.memInfo().memFree > info.lowWatermark + 2 * ENTRY) {
    const p = mmu.malloc(ENTRY);
    if (p === 0) break;
    mmu.mem.write32(p, entries.length);
    entries.push(p);
  }
  return entries;
}

describe('shrinker and reclaimer', () => {
  it('a competing 80%-of-RAM allocation succeeds after the reclaimer shrinks a cache that filled memory', () => {
    const mmu = testMachine(MEMORY);
    const cache = growCache(mmu);
    expect(cache.length * ENTRY).toBeGreaterThan(0.8 * mmu.memInfo().memTotal);
    const calls: [number, boolean][] = [];
    const shrinker = mmu.registerShrinker('test-cache', (target, hard) => {
      calls.push([target, hard]);
      let freed = 0;
      while (freed < target && cache.length > 0) {
        mmu.free(cache.pop()!);
        freed += ENTRY;
      }
      return freed;
    });
    const want = Math.floor((0.8 * mmu.memInfo().memTotal) / 4096) * 4096;
    const freeBefore = mmu.memInfo().memFree;
    const big = mmu.mmap(0, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every(([, hard]) => hard)).toBe(true);
    expect(shrinker.freedBytes).toBeGreaterThanOrEqual(want - freeBefore);
    // Every page is really there, and the cache's survivors are intact.
    for (let off = 0; off < want; off += 4096) mmu.mem.write32(big + off, off);
    for (let off = 0; off < want; off += 4096 * 97) expect(mmu.mem.read32(big + off)).toBe(off);
    cache.forEach((p, i) => expect(mmu.mem.read32(p)).toBe(i));
    expect(mmu.memInfo().anonPages).toBeGreaterThanOrEqual(want);
  });

  it('without a shrinker the same allocation fails with MmuError ENOMEM and leaves memory consistent', () => {
    const mmu = testMachine(MEMORY);
    const cache = growCache(mmu);
    const free = mmu.memInfo().memFree;
    const want = Math.floor((0.8 * mmu.memInfo().memTotal) / 4096) * 4096;
    let err: unknown;
    try {
      mmu.mmap(0, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MmuError);
    expect((err as MmuError).code).toBe('ENOMEM');
    expect((err as MmuError).errno).toBe(12);
    expect(mmu.memInfo().anonPages).toBe(0);
    expect(mmu.memInfo().memFree).toBe(free);
    expect(mmu.checkConsistency()).toBeNull();
    cache.forEach((p, i) => expect(mmu.mem.read32(p)).toBe(i));
    // And malloc says NULL rather than throwing.
    expect(mmu.malloc(want)).toBe(0);
  });

  it('the soft reclaimer asks shrinkers for the deficit below the low watermark, not hard', async () => {
    const mmu = testMachine(MEMORY);
    const cache = growCache(mmu);
    // Push below the watermark without shrinkers, then register one and run a round.
    while (mmu.memInfo().memFree > mmu.memInfo().lowWatermark / 2) cache.push(mmu.malloc(ENTRY));
    const calls: [number, boolean][] = [];
    mmu.registerShrinker('soft', (target, hard) => {
      calls.push([target, hard]);
      let freed = 0;
      while (freed < target && cache.length > 0) {
        mmu.free(cache.pop()!);
        freed += ENTRY;
      }
      return freed;
    });
    const deficit = mmu.reclaimer.deficitBytes();
    expect(deficit).toBeGreaterThan(0);
    let rounds = 0;
    await mmu.reclaimer.run({
      waitForPressure: async () => {},
      stopped: () => rounds++ > 0,
    });
    expect(calls[0]).toEqual([deficit, false]);
    expect(mmu.reclaimer.deficitBytes()).toBe(0);
  });

  it('signals pressure through the shared PRESSURE word when free memory falls below the watermark', () => {
    const mmu = testMachine(MEMORY);
    const i32 = new Int32Array((mmu as unknown as { m: { buffer: SharedArrayBuffer } }).m.buffer);
    const before = Atomics.load(i32, mmu.reclaimer.pressureWord());
    growCache(mmu);
    while (mmu.memInfo().memFree > mmu.memInfo().lowWatermark / 2) mmu.malloc(ENTRY);
    expect(Atomics.load(i32, mmu.reclaimer.pressureWord())).toBeGreaterThan(before);
  });

  it('unregistering a shrinker stops the calls', () => {
    const mmu = testMachine(MEMORY);
    let called = 0;
    const s = mmu.registerShrinker('gone', () => ++called);
    s.unregister();
    growCache(mmu);
    expect(() => mmu.mmap(0, 48 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE)).toThrow(MmuError);
    expect(called).toBe(0);
  });
});
