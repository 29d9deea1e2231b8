/**
 * The mmu as the kernel's memory, inside booted VMs (issue 5's checks at the
 * level of a real machine): mappings, protection and unmap faults, malloc,
 * and OSv's shrinker scenario, on one vCPU and on two (so munmap and mprotect
 * shoot down the other vCPU's TLB through IPIs).
 */
import { describe, expect, it } from 'vitest';
import { lastJson, osvRun, testAppImage } from '../testing/testImages.js';

describe('memory in a booted VM (test-apps/memcheck)', () => {
  const img = testAppImage('memcheck');

  for (const cpus of ['1', '2']) {
    it(`maps, faults and mallocs as a program expects, and the shrinker lets 80% of RAM be allocated (${cpus} vCPU)`, async () => {
      const r = await osvRun([img, '--cpus', cpus]);
      const j = lastJson(r.out);
      expect(j, r.err).toMatchObject({
        mappedOk: true,
        writeToReadOnly: expect.stringMatching(/^write@0x[0-9a-f]+$/),
        readAfterMunmap: expect.stringMatching(/^read@0x[0-9a-f]+$/),
        mallocOk: true,
        bigAllocation: 'ok',
        cacheIntact: true,
      });
      // The cache really grew into (nearly) all free memory first.
      expect(j['cacheBytes'] as number).toBeGreaterThan(0.8 * (j['memTotal'] as number));
      expect(r.code).toBe(0);
    });
  }

  it('the reclaimer thread shrinks a cache that took free memory below the 10% watermark, softly', async () => {
    const r = await osvRun([img, '--cmdline', '/memcheck.js --soft']);
    const j = lastJson(r.out);
    expect(j, r.err).toMatchObject({ calls: expect.any(Number), anyHard: false });
    expect(j['freeBeforePct'] as number).toBeLessThan(10);
    expect(j['freeAfterPct'] as number).toBeGreaterThanOrEqual(10);
    expect(r.code).toBe(0);
  });

  it('without a shrinker the same allocation fails with ENOMEM, not a crash', async () => {
    const r = await osvRun([img, '--cpus', '2', '--cmdline', '/memcheck.js --no-shrinker']);
    expect(lastJson(r.out)).toMatchObject({ bigAllocation: 'ENOMEM', cacheIntact: true });
    expect(r.code).toBe(0);
  });
});
