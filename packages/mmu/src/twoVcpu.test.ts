/// <reference types="node" />
/**
 * Two vCPUs on one guest memory: this thread is vCPU 0, a worker thread
 * (src/host/testVcpuWorker.ts) is vCPU 1. First the differential test with
 * each step run on a random vCPU — a stale translation left behind by a
 * missing shootdown shows up as a wrong byte or a missing fault — then both
 * vCPUs at once: hammering one mapping while churning others, and malloc/free
 * across vCPUs through the remote-free queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Mmu } from './mmu.js';
import { InMemoryPageProvider } from './inMemoryPageProvider.js';
import { DifferentialDriver, firstDifference } from './internal/differentialDriver.js';
import { runDiffOp } from './internal/differentialOps.js';
import { diffFiles, planStep } from './internal/differentialPlan.js';
import { runVcpuCommand, type VcpuCommand } from './internal/vcpuCommands.js';
import { TestVcpu } from './host/testVcpu.js';
import { MMAP_MIN_ADDR, MMAP_TOP } from './addressLayout.js';
import { MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from './mmapFlags.js';

const MEMORY = 128 << 20;
let memory: SharedArrayBuffer;
let mmu: Mmu;
let provider: InMemoryPageProvider;
let vcpu1: TestVcpu;
const ipiTo1 = { sendTlbShootdown: (): void => vcpu1Ipi() };
let vcpu1Ipi = (): void => {};

beforeAll(async () => {
  memory = new SharedArrayBuffer(MEMORY);
  const boot = Mmu.format({ memory, cpu: 0, freeRanges: [{ base: 0x20_0000, length: MEMORY - 0x20_0000 }] });
  provider = new InMemoryPageProvider(memory, boot.pages);
  for (const [id, c] of diffFiles()) provider.addFile(id, c);
  boot.detach();
  mmu = Mmu.attach({ memory, cpu: 0, stateAddress: boot.stateAddress, files: provider, ipi: ipiTo1 });
  vcpu1 = await TestVcpu.start(mmu, memory, provider.describe());
  const ipi = vcpu1.ipi();
  vcpu1Ipi = () => ipi.sendTlbShootdown(1);
});

afterAll(async () => {
  await vcpu1?.stop();
});

function on1(c: VcpuCommand): Record<string, unknown> {
  vcpu1.post(c);
  return vcpu1.wait(mmu) as Record<string, unknown>;
}

describe('two vCPUs', () => {
  it('agree with the reference model step by step, whichever vCPU runs each step', () => twoCpuDifferential(25, 40));

  // Soak: many more and longer sequences take minutes, too long for the default run.
  it.skipIf(!process.env['OSV_SOAK'])('agree over long sequences (soak)', () => twoCpuDifferential(1500, 150), 3_600_000);

  function twoCpuDifferential(numRuns: number, maxLength: number): void {
    const freeAtStart = mmu.memInfo().memFree;
    fc.assert(
      fc.property(fc.array(planStep(2), { minLength: 5, maxLength }), (plan) => {
        const files = new Map([...diffFiles().keys()].map((id) => [id, provider.frames(id)] as const));
        const driver = new DifferentialDriver(files, (cpu, op) => (cpu === 0 ? runDiffOp(mmu, op) : vcpu1.run(mmu, op)));
        try {
          for (const s of plan) {
            const err = driver.step(s);
            if (err !== null) throw new Error(err);
          }
          expect(driver.sweep(0, 2)).toBeNull();
          for (const id of files.keys()) expect(firstDifference(provider.frames(id), driver.model.file(id))).toBe(-1);
        } finally {
          mmu.munmap(MMAP_MIN_ADDR, MMAP_TOP - MMAP_MIN_ADDR);
        }
        expect(mmu.memInfo().anonPages).toBe(0);
        expect(mmu.memInfo().memFree).toBe(freeAtStart);
      }),
      { numRuns },
    );
    expect(mmu.checkConsistency()).toBeNull();
  }

  it('keep every write when both hammer one mapping while mapping and unmapping others', () => {
    const pages = 1024; // 4 MiB: 2 MiB leaves, faulted concurrently from both sides
    const base = mmu.mmap(0, pages * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    vcpu1.post({ cmd: 'hammer', base, pages, parity: 1, rounds: 6, tag: 1 });
    const mine = runVcpuCommand(mmu, { cmd: 'hammer', base, pages, parity: 0, rounds: 6, tag: 0 });
    const theirs = vcpu1.wait(mmu);
    expect(mine).toEqual({ ok: true });
    expect(theirs).toEqual({ ok: true });
    // Each side verifies the other's last round.
    expect(on1({ cmd: 'hammer', base, pages, parity: 0, rounds: 0, tag: 0 })).toEqual({ ok: true });
    mmu.munmap(base, pages * 4096);
    expect(mmu.memInfo().anonPages).toBe(0);
  });

  it('serve an allocation blocked on vCPU 0 with the shrinker registered on vCPU 1', () => {
    const cached = on1({ cmd: 'cache', entry: 65536 }) as { entries: number };
    expect(cached.entries * 65536).toBeGreaterThan(0.6 * mmu.memInfo().memTotal);
    const want = Math.floor((0.6 * mmu.memInfo().memTotal) / 4096) * 4096;
    const a = mmu.mmap(0, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE);
    expect(mmu.memInfo().anonPages).toBeGreaterThanOrEqual(want);
    mmu.munmap(a, want);
    expect(on1({ cmd: 'uncache' })).toEqual({ ok: true });
  });

  it('return objects freed on the other vCPU to their owner through the remote-free queue', () => {
    const before = mmu.memInfo().memFree;
    const mine = runVcpuCommand(mmu, { cmd: 'malloc', count: 2000, size: 48, tag: 100 }) as { pointers: number[] };
    const theirs = on1({ cmd: 'malloc', count: 2000, size: 200, tag: 900 }) as { pointers: number[] };
    expect(on1({ cmd: 'check', pointers: mine.pointers, size: 48, tag: 100 })).toEqual({ ok: true });
    // Free each side's objects on the other side, at the same time.
    vcpu1.post({ cmd: 'free', pointers: mine.pointers });
    runVcpuCommand(mmu, { cmd: 'free', pointers: theirs.pointers });
    expect(vcpu1.wait(mmu)).toEqual({ ok: true });
    // Each owner drains its queue when it next allocates from an empty pool, or on request.
    mmu.drainRemoteFrees();
    expect(on1({ cmd: 'drain' })).toEqual({ ok: true });
    expect(mmu.memInfo().slab).toBeLessThanOrEqual(2 * 8 * 4096 + 4 * 4096);
    expect(mmu.memInfo().memFree).toBeGreaterThanOrEqual(before - 32 * 4096);
  });
});
