/**
 * Entropy device (virtio-v1.2 section 5.4): one request queue of
 * device-writable buffers that the device fills with random bytes. It has no
 * feature bits and no configuration space.
 */

/** The only queue: driver posts writable buffers, the device fills them (5.4.2). */
export const VIRTIO_ENTROPY_REQUESTQ = 0;
/** Size of the entropy device's configuration space, bytes (5.4.4: none). */
export const VIRTIO_ENTROPY_CONFIG_SIZE = 0;
