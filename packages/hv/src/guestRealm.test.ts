import { describe, expect, it } from 'vitest';
import { Machine } from './machine.js';
import { rawKernelImage, rawKernelSource } from './testing/rawKernel.js';

async function runRaw(body: string, options: { cpus?: number; secondary?: string } = {}) {
  const image = rawKernelImage(rawKernelSource(body, options.secondary));
  const m = await Machine.boot({ image, imageName: 'raw.img', ...(options.cpus ? { cpus: options.cpus } : {}) });
  const chunks: Buffer[] = [];
  m.console.on('data', (c: Buffer) => chunks.push(c));
  const exit = await m.wait();
  return { exit, out: Buffer.concat(chunks).toString('utf8'), machine: m };
}

describe('guest realm isolation (DESIGN.md section 3)', () => {
  it('keeps require, process, fetch, host timers and node: modules out of reach of guest code', async () => {
    const { exit, out } = await runRaw(`
      const probes = {};
      const host = ['require', 'process', 'fetch', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask',
        'Buffer', 'module', 'exports', '__dirname', 'global', 'TextEncoder', 'performance', 'structuredClone',
        'WebSocket', 'navigator', 'Worker', 'postMessage', 'close'];
      for (const name of host) probes[name] = typeof globalThis[name];
      const viaFunction = (f) => { try { return f('return typeof process + "," + typeof require')(); } catch (e) { return 'threw ' + e.name; } };
      probes.memoryCtor = viaFunction(hw.memory.constructor.constructor);
      probes.controlCtor = viaFunction(hw.control.constructor.constructor);
      probes.clockCtor = viaFunction(hw.monotonicNs.constructor);
      probes.hwCtor = viaFunction(Object.getPrototypeOf(hw).constructor.constructor);
      probes.globalCtor = viaFunction(globalThis.constructor.constructor);
      probes.evalProcess = (0, eval)('typeof process');
      probes.clockValue = typeof hw.monotonicNs();
      const tryImport = (spec) => import(spec).then(() => 'loaded', (e) => 'rejected');
      Promise.all([tryImport('node:fs'), tryImport('fs'), tryImport('node:child_process')]).then((r) => {
        probes.importNodeFs = r[0]; probes.importFs = r[1]; probes.importChildProcess = r[2];
        print(JSON.stringify(probes) + '\\n');
        powerOff(0);
      });
    `);
    expect(exit).toEqual({ code: 0, reason: 'poweroff' });
    const probes = JSON.parse(out.trim()) as Record<string, string>;
    for (const name of ['require', 'process', 'fetch', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'Buffer', 'module', 'exports', '__dirname', 'global', 'TextEncoder', 'performance', 'structuredClone', 'WebSocket', 'navigator', 'Worker', 'postMessage', 'close']) {
      expect(probes[name], name).toBe('undefined');
    }
    for (const k of ['memoryCtor', 'controlCtor', 'clockCtor', 'hwCtor', 'globalCtor']) expect(probes[k], k).toBe('undefined,undefined');
    expect(probes['evalProcess']).toBe('undefined');
    expect(probes['clockValue']).toBe('number');
    expect(probes['importNodeFs']).toBe('rejected');
    expect(probes['importFs']).toBe('rejected');
    expect(probes['importChildProcess']).toBe('rejected');
  });

  it('gives every vCPU the same monotonic clock and shared memory', async () => {
    // vCPU 1 records its clock in guest memory and raises a flag; vCPU 0
    // waits for the flag and checks the two clocks agree to within a second.
    const { exit, out } = await runRaw(
      `
      const a = new Float64Array(hw.memory, 0x9000, 2);
      const flag = new Int32Array(hw.memory, 0x9100, 1);
      while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 100);
      const delta = Math.abs(hw.monotonicNs() - a[0]);
      print('delta ' + Math.round(delta / 1e6) + ' ms\\n');
      powerOff(delta < 1e9 ? 5 : 6);
    `,
      {
        cpus: 2,
        secondary: `
        const a = new Float64Array(hw.memory, 0x9000, 2);
        const flag = new Int32Array(hw.memory, 0x9100, 1);
        a[0] = hw.monotonicNs();
        Atomics.store(flag, 0, 1); Atomics.notify(flag, 0);
        for (;;) Atomics.wait(ctl, 0, ctl[0]);`,
      },
    );
    expect(out).toMatch(/^delta \d+ ms/);
    expect(exit.code).toBe(5);
  });

  it('reports a guest exception that escapes the kernel as a crash with exit code 1', async () => {
    const { exit, out } = await runRaw(`throw new Error('kernel bug here');`);
    expect(exit.reason).toBe('crash');
    expect(exit.code).toBe(1);
    expect(out).toContain('kernel bug here');
  });

  it('kill() stops a guest that never powers off', async () => {
    const image = rawKernelImage(rawKernelSource(`for (;;) Atomics.wait(ctl, 0, ctl[0], 1000);`));
    const m = await Machine.boot({ image, imageName: 'spin.img' });
    const exit = await m.kill();
    expect(exit).toEqual({ code: 137, reason: 'killed' });
  });
});
