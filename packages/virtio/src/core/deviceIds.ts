/** Virtio device IDs, virtio-v1.2 section 5 (the DeviceID register of 4.2.2). */

/** Reserved: an MMIO window with DeviceID 0 holds no device, and the driver must ignore it (4.2.3.1.1). */
export const VIRTIO_ID_INVALID = 0;
/** Network card, 5.1. */
export const VIRTIO_ID_NET = 1;
/** Block device, 5.2. */
export const VIRTIO_ID_BLOCK = 2;
/** Console, 5.3. */
export const VIRTIO_ID_CONSOLE = 3;
/** Entropy source, 5.4 (Linux calls it VIRTIO_ID_RNG). */
export const VIRTIO_ID_ENTROPY = 4;
