/**
 * `cpuProfile` (osv-run --cpu-prof DIR): each vCPU's JavaScript is profiled
 * through its worker's inspector, and the profile is taken even though the
 * vCPU that powered off is blocked in its hypercall when the hv stops it.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Machine } from '../machine.js';
import { rawKernelImage, rawKernelSource } from '../testing/rawKernel.js';

describe('vCPU CPU profiles', () => {
  it('writes vcpuN.cpuprofile with the guest functions that ran, on both vCPUs', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'osv-prof-')), 'profiles');
    // vCPU 0 spins in a named function, then powers off (and blocks in that hypercall); vCPU 1 spins in another, then halts.
    const spin = (name: string): string => `function ${name}() { const t = hw.monotonicNs(); let x = 0; while (hw.monotonicNs() - t < 300e6) x = (x * 31 + 7) | 0; return x; }`;
    const source = rawKernelSource(`${spin('guestHotLoopZero')} guestHotLoopZero(); powerOff(3);`, `${spin('guestHotLoopOne')} guestHotLoopOne(); for (;;) Atomics.wait(ctl, 0, ctl[0]);`);
    const m = await Machine.boot({ image: rawKernelImage(source), imageName: 'spin.img', cpus: 2, entropy: false, cpuProfile: dir });
    const exit = await m.wait();
    expect(exit.code).toBe(3);
    expect(m.cpuProfiles()).toEqual([join(dir, 'vcpu0.cpuprofile'), join(dir, 'vcpu1.cpuprofile')]);
    const names = (cpu: number): string[] => {
      const p = JSON.parse(readFileSync(join(dir, `vcpu${cpu}.cpuprofile`), 'utf8')) as { nodes: { callFrame: { functionName: string } }[] };
      return p.nodes.map((n) => n.callFrame.functionName);
    };
    expect(names(0)).toContain('guestHotLoopZero');
    expect(names(1)).toContain('guestHotLoopOne');
    expect(existsSync(join(dir, 'vcpu2.cpuprofile'))).toBe(false);
  });
});
