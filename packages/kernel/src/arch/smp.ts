/**
 * Bringing up the secondary vCPUs, as OSv's smp_launch does: vCPU 0 sends each
 * a start IPI (its CPU_STATE word moves HALTED -> STARTING and is notified),
 * each answers by counting itself in the kernel shared page, and vCPU 0 waits
 * until all have answered.
 *
 * The kernel shared page (KERNEL_SHARED_ADDR) is guest memory shared by every
 * vCPU's copy of the kernel; each word's owner is noted in SHARED_LAYOUT.
 */
import { CPU_BLOCK_LAYOUT as C, CPU_HALTED, CPU_RUNNING, CPU_STARTING, KERNEL_SHARED_ADDR, cpuWord } from '@osv-ts/hv/abi';
import { packed } from '@osv-ts/virtio';
import { KernelError } from '../errors.js';
import type { Cpu } from './cpu.js';

/** Words of the kernel shared page. */
export const SHARED_LAYOUT = packed([
  ['ONLINE_CPUS', 4], // vCPUs that answered their start IPI (vCPU 0 included); Atomics.add by each
  ['MMU_STATE', 4], // physical address of the mmu's shared state; vCPU 0 stores it once, 0 until then
  ['SCHED_AREA', 4], // physical address of the scheduler area (sched/kernelSched.ts); vCPU 0 stores it once, 0 until then
] as const);

/** How long vCPU 0 waits for the others before giving up, ms. */
const START_TIMEOUT_MS = 10_000;

/** The kernel shared page as 32-bit words (SHARED_LAYOUT offsets / 4). */
export function sharedWords(cpu: Cpu): Int32Array {
  return new Int32Array(cpu.hw.memory, KERNEL_SHARED_ADDR, SHARED_LAYOUT.SIZE / 4);
}

/** Number of vCPUs online now. */
export function onlineCpuCount(cpu: Cpu): number {
  return Atomics.load(sharedWords(cpu), SHARED_LAYOUT.ONLINE_CPUS.offset / 4);
}

/**
 * On vCPU 0: starts every other vCPU and waits until all are online. Throws
 * KernelError EIO naming the vCPUs that did not answer in time.
 */
export function startSecondaries(cpu: Cpu): void {
  const shared = sharedWords(cpu);
  const online = SHARED_LAYOUT.ONLINE_CPUS.offset / 4;
  Atomics.add(shared, online, 1);
  cpu.setState(CPU_RUNNING);
  for (let i = 1; i < cpu.count; i++) {
    const state = cpuWord(i, C.CPU_STATE);
    Atomics.store(cpu.ctl, state, CPU_STARTING);
    Atomics.notify(cpu.ctl, state);
  }
  const deadline = cpu.hw.monotonicNs() + START_TIMEOUT_MS * 1e6;
  for (;;) {
    const n = Atomics.load(shared, online);
    if (n >= cpu.count) return;
    const left = (deadline - cpu.hw.monotonicNs()) / 1e6;
    if (left <= 0) {
      const missing: number[] = [];
      for (let i = 1; i < cpu.count; i++) if (Atomics.load(cpu.ctl, cpuWord(i, C.CPU_STATE)) !== CPU_RUNNING) missing.push(i);
      throw new KernelError('EIO', `vCPU(s) ${missing.join(', ')} did not start within ${START_TIMEOUT_MS} ms`);
    }
    Atomics.wait(shared, online, n, left);
  }
}

/**
 * On a secondary vCPU: waits for the start IPI, reports online, and returns.
 * Blocks the vCPU (Atomics.wait) while halted.
 */
export function awaitStartIpi(cpu: Cpu): void {
  const state = cpuWord(cpu.id, C.CPU_STATE);
  while (Atomics.load(cpu.ctl, state) === CPU_HALTED) Atomics.wait(cpu.ctl, state, CPU_HALTED);
  cpu.setState(CPU_RUNNING);
  const shared = sharedWords(cpu);
  const online = SHARED_LAYOUT.ONLINE_CPUS.offset / 4;
  Atomics.add(shared, online, 1);
  Atomics.notify(shared, online);
}

/** How long a secondary vCPU waits for vCPU 0 to publish a shared word, ms. */
const PUBLISH_TIMEOUT_MS = 10_000;

/** A shared-page word vCPU 0 publishes once (an address: never 0 once set). */
export type PublishedWord = 'MMU_STATE' | 'SCHED_AREA';

/** On vCPU 0: stores `value` (non-zero) in shared word `field` and wakes the vCPUs waiting for it. */
export function publishShared(cpu: Cpu, field: PublishedWord, value: number): void {
  const shared = sharedWords(cpu);
  const word = SHARED_LAYOUT[field].offset / 4;
  Atomics.store(shared, word, value);
  Atomics.notify(shared, word);
}

/**
 * On a secondary vCPU: waits until vCPU 0 has published shared word `field`
 * and returns it. Throws KernelError EIO naming `what` when it never does.
 */
export function awaitShared(cpu: Cpu, field: PublishedWord, what: string): number {
  const shared = sharedWords(cpu);
  const word = SHARED_LAYOUT[field].offset / 4;
  const deadline = cpu.hw.monotonicNs() + PUBLISH_TIMEOUT_MS * 1e6;
  let value = Atomics.load(shared, word);
  while (value === 0) {
    const left = (deadline - cpu.hw.monotonicNs()) / 1e6;
    if (left <= 0) throw new KernelError('EIO', `vCPU ${cpu.id}: vCPU 0 did not set up ${what} within ${PUBLISH_TIMEOUT_MS} ms`);
    Atomics.wait(shared, word, 0, left);
    value = Atomics.load(shared, word);
  }
  return value;
}
