/**
 * @osv-ts/kernel — the osv-ts core, and the API it gives programs.
 *
 * A program in an image imports this package and is linked at load time to
 * the running kernel's own copy (see loader/programLoader.ts). Outside a VM
 * the functions below throw KernelError ENOSYS, so a program can tell where it
 * runs with `isBooted()`.
 */
import { onlineCpuCount } from './arch/smp.js';
import { kernel } from './kernelState.js';

export { KernelError, KERNEL_ERRNO, KERNEL_ERROR_CODES } from './errors.js';
export type { KernelErrorCode } from './errors.js';
export { isBooted } from './kernelState.js';
export { parseCommandLine, splitWords } from './loader/cmdline.js';
export type { CommandLine } from './loader/cmdline.js';
export { format, inspect } from './console/format.js';

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

