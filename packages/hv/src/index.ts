/**
 * @osv-ts/hv — the bundled virtual machine.
 *
 * `Machine.boot({ image })` verifies an image, lays out guest memory, attaches
 * the devices and starts one worker thread per vCPU; `wait()` gives the guest's
 * exit. The hardware ABI guest code programs against is `@osv-ts/hv/abi`; the
 * image format is `@osv-ts/hv/image`.
 */
export { Machine } from './machine.js';
export type { BootTimeline, MachineExit, MachineOptions } from './machine.js';
export { HvError, HV_ERROR_CODES } from './errors.js';
export type { HvErrorCode } from './errors.js';
export { parseSize, formatSize } from './size.js';
export { MmioBus, UNCLAIMED_READ } from './mmioBus.js';
export type { MmioDevice } from './mmioBus.js';
export type { MachineDeviceOptions } from './devices/machineDevices.js';
export { parseDiskSpec } from './devices/diskOptions.js';
export type { DiskOptions } from './devices/diskOptions.js';
export { parseNetSpec } from './devices/netOptions.js';
export type { NetOptions } from './devices/netOptions.js';
export {
  BackendLink,
  DEFAULT_USER_NET,
  parseUserNetOptions,
  SwitchHub,
  SwitchNetBackend,
  UserNetBackend,
} from './net/index.js';
export type { HostForward, UserNetBackendOptions, UserNetOptions } from './net/index.js';
export type { NetBackend, NetBackendEvents } from './devices/netBackend.js';
