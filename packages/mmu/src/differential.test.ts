/// <reference types="node" />
/**
 * The differential test on one vCPU: random mmap/munmap/mprotect/mremap/
 * madvise/read/write sequences against the ReferenceModel, agreeing on every
 * byte and every fault, then a full sweep of every page and of the files, and
 * the allocator back where it started once everything is unmapped.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Mmu } from './mmu.js';
import { InMemoryPageProvider } from './inMemoryPageProvider.js';
import { DifferentialDriver, firstDifference } from './internal/differentialDriver.js';
import { runDiffOp } from './internal/differentialOps.js';
import { diffFiles, planStep } from './internal/differentialPlan.js';
import { MMAP_TOP, MMAP_MIN_ADDR } from './addressLayout.js';

function differential(numRuns: number, maxLength: number): void {
  fc.assert(
    fc.property(fc.array(planStep(1), { minLength: 5, maxLength }), fc.boolean(), (plan, huge) => {
      const memory = new SharedArrayBuffer(128 << 20);
      const files = diffFiles();
      const boot = Mmu.format({ memory, cpu: 0, freeRanges: [{ base: 0x20_0000, length: (128 << 20) - 0x20_0000 }], hugePages: huge });
      const provider = new InMemoryPageProvider(memory, boot.pages);
      for (const [id, c] of files) provider.addFile(id, c);
      const mmu = Mmu.attach({ memory, cpu: 0, stateAddress: boot.stateAddress, files: provider });
      const freeAtStart = mmu.memInfo().memFree;
      const driver = new DifferentialDriver(files, (_cpu, op) => runDiffOp(mmu, op));
      for (const s of plan) {
        const err = driver.step(s);
        if (err !== null) throw new Error(err);
      }
      // Sweep every page ever mapped, then compare the files.
      expect(driver.sweep(0)).toBeNull();
      for (const id of files.keys()) expect(firstDifference(provider.frames(id), driver.model.file(id))).toBe(-1);
      mmu.munmap(MMAP_MIN_ADDR, MMAP_TOP - MMAP_MIN_ADDR);
      expect(mmu.memInfo().anonPages).toBe(0);
      expect(mmu.memInfo().mapped).toBe(0);
      expect(mmu.memInfo().memFree).toBe(freeAtStart);
      expect(mmu.checkConsistency()).toBeNull();
    }),
    { numRuns },
  );
}

describe('differential: one vCPU against the reference model', () => {
  it('agrees on every byte and every fault', () => differential(100, 45));

  // Soak: thousands of longer sequences take minutes, too long for the default run.
  it.skipIf(!process.env['OSV_SOAK'])('agrees over long sequences (soak)', () => differential(3000, 200), 3_600_000);
});
