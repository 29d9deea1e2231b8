/**
 * @osv-ts/kernel — the osv-ts core, and the API it gives programs.
 *
 * A program in an image imports this package and is linked at load time to
 * the running kernel's own copy (see loader/programLoader.ts). Outside a VM
 * the functions below throw KernelError ENOSYS, so a program can tell where it
 * runs with `isBooted()`.
 */
import { onlineCpuCount } from './arch/smp.js';
import type { BlockDevice } from './drivers/blockDevice.js';
import { deviceRegistry } from './drivers/deviceRegistry.js';
import type { IoWaitPolicy } from './drivers/ioWait.js';
import type { NetDevice } from './drivers/netDevice.js';
import type { RandomSource } from './drivers/randomGenerator.js';
import { KernelError } from './errors.js';
import type { Mmu } from '@osv-ts/mmu';
import { kernel } from './kernelState.js';
import type { Scheduler } from '@osv-ts/sched';
import { ENTRY_PROGRAM_EXPORT, programExportNames } from './sched/programEntries.js';

export { KernelError, KERNEL_ERRNO, KERNEL_ERROR_CODES } from './errors.js';
export type { KernelErrorCode } from './errors.js';
export { isBooted } from './kernelState.js';
export { parseCommandLine, splitWords } from './loader/cmdline.js';
export type { CommandLine } from './loader/cmdline.js';
export { format, inspect } from './console/format.js';
export type { BlockDevice } from './drivers/blockDevice.js';
export type { MbufReceiver, NetDevice, NetReceiver, NetRxStats, RxMbufPool } from './drivers/netDevice.js';
export { NET_ERRNO } from './drivers/netDevice.js';
export type { IoWaitPolicy } from './drivers/ioWait.js';
export type { RandomSource } from './drivers/randomGenerator.js';
export type { Scheduler } from '@osv-ts/sched';

/** Number of vCPUs that are online. */
export function onlineCpus(): number {
  return onlineCpuCount(kernel().cpu);
}

/** The index of the vCPU the caller runs on. */
export function currentCpu(): number {
  return kernel().cpu.id;
}

/** Guest memory size, bytes. */
export function memoryBytes(): number {
  return kernel().boot.memoryBytes;
}

/** The kernel command line the machine was booted with. */
export function commandLine(): string {
  return kernel().cmdline;
}

/** Nanoseconds since the machine was powered on (monotonic). */
export function uptimeNs(): number {
  return kernel().cpu.hw.monotonicNs();
}

/** Wall-clock time, nanoseconds since the Unix epoch. */
export function wallClockNs(): number {
  return kernel().cpu.hw.wallClockNs();
}

/** Reads a whole file from the root filesystem. Throws KernelError (ENOENT, EISDIR...) with the path. */
export function readFile(path: string): Uint8Array {
  return kernel().vfs.readFile(path);
}

/** Lists a directory of the root filesystem. */
export function readdir(path: string): string[] {
  return kernel().vfs.readdir(path);
}

/** Powers the machine off now with `code` (0..255), as exit(2) ends OSv. Never returns. */
export function exit(code: number): never {
  return kernel().powerOff(code);
}


/** The machine's disks (virtio-blk), in probe order: vda, vdb, ... */
export function blockDevices(): BlockDevice[] {
  return [...deviceRegistry().blocks];
}

/** The machine's network interfaces (virtio-net), in probe order: eth0, eth1, ... */
export function netDevices(): NetDevice[] {
  return [...deviceRegistry().nets];
}

/**
 * Fills an integer typed array (or any ArrayBufferView) with cryptographically
 * strong random bytes from the kernel's generator, as Web Crypto's
 * getRandomValues does, and returns it. Throws KernelError EINVAL for a
 * non-view.
 */
export function getRandomValues<T extends ArrayBufferView>(array: T): T {
  const r = deviceRegistry();
  if (!ArrayBuffer.isView(array)) throw new KernelError('EINVAL', 'getRandomValues needs a typed array or DataView');
  r.rng?.refresh();
  r.random.fill(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  return array;
}

/** What seeded the random generator: 'virtio-rng', or 'timer-jitter' on a machine without an entropy device. */
export function randomSource(): RandomSource {
  return deviceRegistry().random.source;
}

/**
 * Reads, and with an argument changes, how the kernel waits for device I/O
 * (until the scheduler takes this over): how many idle turns it polls the
 * rings before sleeping, and whether device interrupts stay suppressed while
 * it polls. For benchmarks; the defaults suit everything else.
 */
export function ioWaitPolicy(policy?: Partial<IoWaitPolicy>): IoWaitPolicy {
  const io = deviceRegistry().io;
  if (policy) io.setPolicy({ ...io.currentPolicy, ...policy });
  return io.currentPolicy;
}

/**
 * The memory subsystem (an `Mmu` from @osv-ts/mmu, attached to the calling
 * vCPU): mmap and friends, malloc, the shrinker, memory statistics.
 */
export function memory(): Mmu {
  return kernel().mmu;
}

/**
 * The scheduler of the calling vCPU (@osv-ts/sched `Scheduler`): spawn
 * threads (they stay on this vCPU), mutexes, semaphores, condition
 * variables, wait queues, rwlocks, timers, sleep, yield and
 * `preemptionPoint()`. Its objects live in guest memory shared by every
 * vCPU: pass an object's `ref` to a thread on another vCPU and get it there
 * with `scheduler().semaphore(0, ref)` and the like. A thread must await
 * only scheduler calls and the kernel's I/O promises (device reads, writes,
 * receives); awaiting any other pending promise keeps its vCPU until the
 * promise settles.
 */
export function scheduler(): Scheduler {
  return kernel().sched;
}

/**
 * Runs the program's exported function `name` as a new thread on vCPU
 * `cpu`, called there as `name(arg)` with an integer `arg` (-2^31..2^31-1).
 * Every vCPU loads the program (its module body runs once per vCPU) and
 * keeps its own module state; share data through guest-memory objects
 * (`scheduler()` objects by `ref`). Returns the thread id: `scheduler().join(tid)`
 * tells whether it returned or threw (values do not cross vCPUs). Throws
 * KernelError EINVAL for an unknown function or vCPU; SchedError EAGAIN
 * when out of thread slots.
 */
export function spawnOn(cpu: number, name: string, arg = 0, opts: { readonly priority?: number; readonly name?: string } = {}): number {
  const k = kernel();
  const index = programExportNames().indexOf(name);
  if (index < 0) throw new KernelError('EINVAL', `spawnOn: the program exports no function ${name}`);
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= k.cpu.count) throw new KernelError('EINVAL', `spawnOn: no vCPU ${cpu} (the machine has ${k.cpu.count})`);
  return k.sched.spawnEntry(ENTRY_PROGRAM_EXPORT, index, arg | 0, { cpu, pinned: true, name: opts.name ?? name, ...(opts.priority === undefined ? {} : { priority: opts.priority }) });
}

export { kernelNet as net } from './net/netApi.js';
export type { KernelNet, KernelNetInterface } from './net/kernelNet.js';
