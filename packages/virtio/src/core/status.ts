/**
 * Device status field bits, virtio-v1.2 section 2.1. The driver sets bits in
 * the order of the initialization sequence (3.1.1) and never clears one except
 * by writing 0, which resets the device. Names follow Linux and OSv
 * (VIRTIO_CONFIG_S_*); the spec's own names are the part after the prefix.
 */

/** The guest OS has found the device and recognized it as a valid virtio device. */
export const VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
/** The guest OS knows how to drive the device. */
export const VIRTIO_CONFIG_S_DRIVER = 2;
/** The driver is set up and ready to drive the device. */
export const VIRTIO_CONFIG_S_DRIVER_OK = 4;
/** The driver has acknowledged the features it understands; negotiation is complete. */
export const VIRTIO_CONFIG_S_FEATURES_OK = 8;
/** Set by the device: it hit an error from which only a reset recovers (2.1.2). */
export const VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET = 64;
/** Set by the driver: something went wrong and it gave up on the device. */
export const VIRTIO_CONFIG_S_FAILED = 128;
