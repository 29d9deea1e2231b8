/**
 * The kernel's scheduler (@osv-ts/sched) on the hv's vCPUs. vCPU 0 reserves
 * one block of guest memory from the boot allocator — the scheduler area,
 * then one console staging page per vCPU — formats the area and publishes
 * its physical address in the kernel shared page (SHARED_LAYOUT.SCHED_AREA);
 * every vCPU then attaches a `Scheduler` for itself with the hv's monotonic
 * clock, the hv's CPU_STATE / PREEMPT words (so the time-slice timer and
 * remote wakers raise the flag `preemptionPoint()` reads) and a `KernelIdle`.
 */
import { CPU_BLOCK_LAYOUT as C, PAGE_SIZE, cpuWord } from '@osv-ts/hv/abi';
import { Scheduler, schedulerAreaBytes } from '@osv-ts/sched';
import type { Cpu } from '../arch/cpu.js';
import { awaitShared, publishShared } from '../arch/smp.js';
import type { BootAllocator } from '../mm/bootAllocator.js';
import { KernelIdle } from './kernelIdle.js';

/** Thread slots of the kernel's scheduler area. */
export const SCHED_THREADS = 4096;
/** Synchronisation blocks (mutexes, semaphores, ...) of the area. */
export const SCHED_SYNC_OBJECTS = 4096;

/** One vCPU's scheduler and idle. */
export interface KernelSched {
  readonly sched: Scheduler;
  readonly idle: KernelIdle;
}

function areaBytes(cpus: number): number {
  const bytes = schedulerAreaBytes(cpus, SCHED_THREADS, SCHED_SYNC_OBJECTS);
  return Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * The console staging page of vCPU `id` (secondary vCPUs print through it),
 * in the block that starts at `base`.
 */
export function consoleStagingAddr(base: number, cpus: number, id: number): number {
  return base + areaBytes(cpus) + id * PAGE_SIZE;
}

/**
 * On vCPU 0, before the mmu takes the rest of RAM: reserves and formats the
 * scheduler area and publishes its address. Returns the block's base.
 * @throws KernelError ENOMEM when the boot allocator has no room
 */
export function reserveSchedulerArea(cpu: Cpu, boot: BootAllocator): number {
  const base = boot.alloc(areaBytes(cpu.count) + cpu.count * PAGE_SIZE, PAGE_SIZE);
  Scheduler.createArea({ cpus: cpu.count, threads: SCHED_THREADS, syncObjects: SCHED_SYNC_OBJECTS, buffer: cpu.hw.memory, byteOffset: base });
  publishShared(cpu, 'SCHED_AREA', base);
  return base;
}

/**
 * On a secondary vCPU: waits until vCPU 0 has published the area; returns its base.
 * @throws KernelError EIO when it never does
 */
export function awaitSchedulerArea(cpu: Cpu): number {
  return awaitShared(cpu, 'SCHED_AREA', 'the scheduler');
}

/**
 * Attaches this vCPU's scheduler to the area at `base`. `onThreadError`
 * receives what a detached thread threw; `maxPollNs` bounds the adaptive idle
 * poll window (kernel option --halt-poll=NS; default MAX_POLL_NS).
 */
export function attachScheduler(cpu: Cpu, base: number, onThreadError: (error: unknown, tid: number) => void, maxPollNs?: number): KernelSched {
  const hw = cpu.hw;
  const clock = { nowNs: (): number => hw.monotonicNs() };
  const idle = new KernelIdle(cpu, clock, undefined, maxPollNs);
  const sched = Scheduler.attach({
    buffer: hw.memory,
    byteOffset: base,
    localCpus: [cpu.id],
    clock,
    idle,
    ipi: idle,
    words: { view: cpu.ctl, stateIndex: (c) => cpuWord(c, C.CPU_STATE), preemptIndex: (c) => cpuWord(c, C.PREEMPT) },
    onThreadError,
  });
  return { sched, idle };
}
