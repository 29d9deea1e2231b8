/**
 * The scheduler on real vCPUs (issue 4's checks inside booted VMs, through
 * test-apps/schedcheck): CPU shares of equal and unequal priorities on one
 * vCPU under the scheduler's clock, a producer/consumer through the
 * cross-vCPU mutex and condition variables, and semaphore ping-pong across
 * two vCPUs. Shares are checked loosely; nothing else is timed.
 */
import { describe, expect, it } from 'vitest';
import { lastJson, osvRun, testAppImage } from '../testing/testImages.js';

/** Boots schedcheck with `args` on `cpus` vCPUs; returns its JSON line after checking it exited 0. */
async function schedcheck(cpus: number, args: string): Promise<Record<string, unknown>> {
  const r = await osvRun([testAppImage('schedcheck'), '--cpus', String(cpus), '--cmdline', `/schedcheck.js ${args}`], 120_000);
  const j = lastJson(r.out);
  expect(r.code, `${r.out}\n${r.err}`).toBe(0);
  return j;
}

describe('the scheduler on real vCPUs (test-apps/schedcheck)', () => {
  for (const cpus of [1, 2]) {
    it(`two CPU-bound threads of equal priority on one vCPU share it about equally (${cpus} vCPU)`, async () => {
      const j = await schedcheck(cpus, 'fair 1000');
      expect(j).toMatchObject({ cpu: 0, priorities: [1, 1] });
      const [a, b] = j['iterations'] as [number, number];
      expect(a).toBeGreaterThan(0);
      expect(b).toBeGreaterThan(0);
      expect(j['shareA'], JSON.stringify(j)).toBeGreaterThanOrEqual(0.4);
      expect(j['shareA'], JSON.stringify(j)).toBeLessThanOrEqual(0.6);
    });
  }

  it('priority 0.5 against 1: the 0.5 thread gets about two thirds of the vCPU', async () => {
    const j = await schedcheck(1, 'prio 1000');
    expect(j).toMatchObject({ cpu: 0, priorities: [0.5, 1] });
    expect(j['shareA'], JSON.stringify(j)).toBeGreaterThanOrEqual(0.55);
    expect(j['shareA'], JSON.stringify(j)).toBeLessThanOrEqual(0.8);
  });

  const prodcons = async (n: number): Promise<void> => {
    const j = await schedcheck(2, `prodcons ${n}`);
    expect(j).toMatchObject({
      items: n,
      consumed: n,
      sum: (n * (n + 1)) / 2,
      outOfOrder: 0,
      leftInRing: 0,
      producerCpu: 0,
      consumerCpu: 1,
      consumer: 'ok',
    });
  };

  it('a producer on vCPU 0 hands 100k items to a consumer on vCPU 1 through a mutex and condition variables, none lost or duplicated', async () => {
    await prodcons(100_000);
  });

  // A million items take a few seconds of two busy cores: the soak stage only.
  it.skipIf(!process.env['OSV_SOAK'])('soak: the same with 1M items', async () => {
    await prodcons(1_000_000);
  });

  const pingpong = async (n: number): Promise<void> => {
    const j = await schedcheck(2, `pingpong ${n}`);
    expect(j).toMatchObject({ roundTrips: n, answered: n, mismatched: 0, pingCpu: 0, pongCpu: 1, peer: 'ok' });
  };

  it('cross-vCPU wake-ups: 100k semaphore round trips between vCPU 0 and vCPU 1, none lost', async () => {
    await pingpong(100_000);
  });

  // As above: a million round trips belong to the soak stage.
  it.skipIf(!process.env['OSV_SOAK'])('soak: 1M semaphore round trips across vCPUs', async () => {
    await pingpong(1_000_000);
  });
});

describe('a thread that awaits what the scheduler does not track (test-apps/schedcheck stall)', () => {
  it('stalls its vCPU, and the kernel says which thread it is', async () => {
    const { spawn } = await import('node:child_process');
    const { OSV_RUN } = await import('../testing/testImages.js');
    const p = spawn(process.execPath, [OSV_RUN, testAppImage('schedcheck'), '--cmdline', '/schedcheck.js stall'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no stall report within 30 s:\n${err}`)), 30_000);
        // The kernel's console goes to stdout; stderr is read too in case that changes.
        const take = (c: Buffer): void => {
          err += c.toString();
          if (err.includes('stalled')) {
            clearTimeout(timer);
            resolve();
          }
        };
        p.stdout.on('data', take);
        p.stderr.on('data', take);
        p.on('close', (code) => reject(new Error(`osv-run exited (${code}) before reporting a stall:\n${err}`)));
      });
    } finally {
      p.kill('SIGKILL');
    }
    expect(err).toMatch(/vCPU 0 stalled: thread \d+ \('stray-await'\) awaits a promise the scheduler does not track/);
  });
});
