/**
 * The devices probing found, for the kernel's public API (index.ts):
 * installed once by probeDevices on vCPU 0, read by programs through
 * blockDevices(), netDevices() and getRandomValues(). Outside a VM it is
 * absent and that API throws KernelError ENOSYS.
 */
import { KernelError } from '../errors.js';
import type { BlockDevice } from './blockDevice.js';
import type { IoWait } from './ioWait.js';
import type { NetDevice } from './netDevice.js';
import type { RandomGenerator } from './randomGenerator.js';
import type { VirtioRng } from './virtioRng.js';

/** What the drivers made of the machine's devices. */
export interface DeviceRegistry {
  readonly blocks: readonly BlockDevice[];
  readonly nets: readonly NetDevice[];
  /** The kernel random generator (seeded before any program runs). */
  readonly random: RandomGenerator;
  /** The entropy device feeding it, when the machine has one. */
  readonly rng: VirtioRng | null;
  /** The I/O poller of vCPU 0. */
  readonly io: IoWait;
}

let registry: DeviceRegistry | undefined;

/** Installs the registry (probe only). */
export function setDeviceRegistry(r: DeviceRegistry): void {
  registry = r;
}

/** The registry; throws KernelError ENOSYS outside an osv-ts VM. */
export function deviceRegistry(): DeviceRegistry {
  if (!registry) throw new KernelError('ENOSYS', 'no devices: not running inside an osv-ts virtual machine (boot an image with osv-run)');
  return registry;
}
