/**
 * The contract between a transport's device side and a device type (console,
 * block, net, entropy...). The hv implements VirtioDeviceModel per device;
 * MmioTransportDevice implements VirtioTransport and hands itself to the
 * model through attach().
 */

import type { VirtqueueDevice } from '../ring/virtqueueDevice.js';

/** Access size of a configuration-space access, bytes. */
export type ConfigAccessSize = 1 | 2 | 4;

/**
 * What a device type implements. Every callback runs on the hv thread; a
 * callback that throws puts the device in DEVICE_NEEDS_RESET (the transport
 * catches it) instead of escaping into the hv.
 */
export interface VirtioDeviceModel {
  /** Virtio device ID (VIRTIO_ID_*). */
  readonly deviceId: number;
  /** Vendor ID to report; VIRTIO_MMIO_VENDOR_OSV_TS when absent. */
  readonly vendorId?: number;
  /**
   * Device-type feature bits offered (bits 0..23 and 42..63; the transport
   * adds VIRTIO_F_VERSION_1 and its ring features INDIRECT_DESC and EVENT_IDX).
   */
  readonly features: bigint;
  /** Number of virtqueues (0 .. 1024). */
  readonly queueCount: number;
  /** Size of the configuration space, bytes; accesses past it read 0 and are logged. Unbounded when absent. */
  readonly configSize?: number;
  /** QueueNumMax of queue `index` (0 .. queueCount-1): the largest size it accepts, up to 32768. */
  queueMaxSize(index: number): number;
  /** Reads `size` bytes at `offset` in the configuration space, little-endian. */
  configRead(offset: number, size: ConfigAccessSize): number;
  /** Writes configuration space; read-only when absent (writes are logged and ignored). */
  configWrite?(offset: number, size: ConfigAccessSize, value: number): void;
  /** Final say on the driver's feature set when it sets FEATURES_OK; false refuses it. */
  acceptFeatures?(features: bigint): boolean;
  /** Receives the transport once, at construction. */
  attach?(transport: VirtioTransport): void;
  /** The driver set DRIVER_OK: the device is live with the negotiated `features`. */
  driverOk?(features: bigint): void;
  /** The driver made queue `index` ready and it passed validation. */
  queueReady?(index: number, queue: VirtqueueDevice): void;
  /** The driver notified queue `index` (only after DRIVER_OK and while healthy). */
  queueNotify(index: number, queue: VirtqueueDevice): void;
  /** The driver reset the device: forget all state and every in-flight request. */
  reset(): void;
}

/** What a device model may ask of its transport. */
export interface VirtioTransport {
  /** The feature set the driver accepted (valid from FEATURES_OK). */
  readonly driverFeatures: bigint;
  /** Whether the accepted set has `bit`. */
  hasFeature(bit: number): boolean;
  /** Queue `index` when the driver made it ready, else null. */
  queue(index: number): VirtqueueDevice | null;
  /** Publishes queue `index`'s used elements and interrupts if the driver wants it; returns whether it did. */
  flush(index: number): boolean;
  /** The configuration space changed: bump ConfigGeneration and send a configuration change notification. */
  configChanged(): void;
  /** Puts the device in DEVICE_NEEDS_RESET, notifies the driver and logs `reason`. */
  needsReset(reason: string): void;
  /** Logs through the transport's log hook. */
  log(message: string): void;
}
