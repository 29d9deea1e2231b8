/**
 * @osv-ts/virtio/device — the hv's side: the hardened split virtqueue
 * (VirtqueueDevice, DescriptorChain) and the virtio-mmio register file with
 * the device status state machine (MmioTransportDevice), generic over a
 * VirtioDeviceModel that each device type implements.
 */

export { VirtqueueDevice, VIRTQ_EMPTY } from './ring/virtqueueDevice.js';
export type { VirtqueueDeviceConfig } from './ring/virtqueueDevice.js';
export type { DescriptorChain } from './ring/descriptorChain.js';
export { MmioTransportDevice, MMIO_MAX_QUEUES, MMIO_LOG_LIMIT } from './transport/mmioTransportDevice.js';
export type { MmioTransportHooks, MmioTransportOptions, SharedWord } from './transport/mmioTransportDevice.js';
export type { VirtioDeviceModel, VirtioTransport, ConfigAccessSize } from './transport/virtioDeviceModel.js';
export { ConfigSpace } from './transport/configSpace.js';
export type { GuestMemory } from './core/guestMemory.js';
