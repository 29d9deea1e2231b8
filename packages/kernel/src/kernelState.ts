/**
 * The running kernel's state on this vCPU, set once by boot. The public API in
 * index.ts reads it; outside a VM (a program run as a plain Node process) it is
 * absent and that API throws KernelError ENOSYS.
 */
import type { Cpu } from './arch/cpu.js';
import type { BootInfo } from './arch/bootInfo.js';
import type { KernelConsole } from './console/kernelConsole.js';
import type { Vfs } from './fs/vfs.js';
import type { Mmu } from '@osv-ts/mmu';
import type { Scheduler } from '@osv-ts/sched';
import { KernelError } from './errors.js';

/** What the kernel knows about itself once booted. */
export interface KernelState {
  readonly cpu: Cpu;
  readonly boot: BootInfo;
  readonly console: KernelConsole;
  readonly vfs: Vfs;
  /** vCPU 0's memory subsystem (every vCPU has its own attached Mmu). */
  readonly mmu: Mmu;
  readonly cmdline: string;
  /** This vCPU's scheduler (every vCPU attaches its own to the one shared area). */
  readonly sched: Scheduler;
  /** The module table the image's kernel carries (package name -> namespace). */
  readonly modules: Readonly<Record<string, object>>;
  /** Flushes console output and powers off. */
  readonly powerOff: (code: number) => never;
}

let state: KernelState | undefined;

/** Installs the state (boot only). */
export function setKernelState(s: KernelState): void {
  state = s;
}

/** The kernel state; throws KernelError ENOSYS outside an osv-ts VM. */
export function kernel(): KernelState {
  if (!state) throw new KernelError('ENOSYS', 'not running inside an osv-ts virtual machine (boot an image with osv-run)');
  return state;
}

/** True inside a booted osv-ts VM. */
export function isBooted(): boolean {
  return state !== undefined;
}
