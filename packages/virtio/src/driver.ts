/**
 * @osv-ts/virtio/driver — the guest kernel's side: the split virtqueue
 * driver (VirtqueueDriver) and the virtio-mmio transport driver
 * (VirtioMmioDriver), over interfaces the kernel supplies (GuestMemory,
 * DmaAllocator, MmioBus).
 */

export { VirtqueueDriver, VIRTQ_NONE } from './ring/virtqueueDriver.js';
export type { VirtqueueDriverOptions } from './ring/virtqueueDriver.js';
export type { DmaAllocator } from './ring/dmaAllocator.js';
export { VirtioMmioDriver } from './transport/virtioMmioDriver.js';
export type { MmioDeviceInfo, CreateQueueOptions } from './transport/virtioMmioDriver.js';
export type { MmioBus } from './transport/mmioBus.js';
export type { GuestMemory } from './core/guestMemory.js';
