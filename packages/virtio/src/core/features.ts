/**
 * Reserved (device-independent) feature bits, virtio-v1.2 section 6, and
 * helpers over 64-bit feature sets (2.2). Feature sets are bigint at API
 * boundaries (negotiation, models); hot paths test a cached boolean instead.
 */

/** The driver can use descriptors with VIRTQ_DESC_F_INDIRECT (2.7.5.3). */
export const VIRTIO_F_INDIRECT_DESC = 28;
/** used_event / avail_event notification suppression (2.7.7, 2.7.10). */
export const VIRTIO_F_EVENT_IDX = 29;
/** Alias of VIRTIO_F_EVENT_IDX under the Linux name (VIRTIO_RING_F_EVENT_IDX). */
export const VIRTIO_F_RING_EVENT_IDX = VIRTIO_F_EVENT_IDX;
/** Compliance with virtio 1.x; a device without it is legacy, which this package does not drive. */
export const VIRTIO_F_VERSION_1 = 32;
/** The device sits behind an IOMMU or similar (not used by osv-ts). */
export const VIRTIO_F_ACCESS_PLATFORM = 33;
/** Packed virtqueue layout (2.8; not implemented by this package). */
export const VIRTIO_F_RING_PACKED = 34;
/** The device uses buffers in the order they were made available. */
export const VIRTIO_F_IN_ORDER = 35;
/** Memory accesses must be ordered as by the platform (no effect in one process). */
export const VIRTIO_F_ORDER_PLATFORM = 36;
/** Single-root I/O virtualization (not applicable). */
export const VIRTIO_F_SR_IOV = 37;
/** The driver passes extra data in its notifications. */
export const VIRTIO_F_NOTIFICATION_DATA = 38;
/** The driver can reset a single queue (QueueReset register). */
export const VIRTIO_F_RING_RESET = 40;

/** First feature bit of the range reserved for queue and negotiation extensions (2.2: bits 24 to 41). */
export const VIRTIO_TRANSPORT_F_START = 24;
/** Last feature bit (inclusive) of that range. */
export const VIRTIO_TRANSPORT_F_END = 41;

/**
 * The feature set with only `bit` set, for building masks:
 * `featureBit(VIRTIO_F_EVENT_IDX) | featureBit(VIRTIO_NET_F_MAC)`.
 * @throws RangeError when `bit` is not an integer in 0..63
 */
export function featureBit(bit: number): bigint {
  if (!Number.isInteger(bit) || bit < 0 || bit > 63) throw new RangeError(`feature bit ${bit} is outside 0..63`);
  return 1n << BigInt(bit);
}

/** Whether feature set `features` has `bit` set. Not for hot paths (bigint arithmetic). */
export function hasFeature(features: bigint, bit: number): boolean {
  return ((features >> BigInt(bit)) & 1n) === 1n;
}

/** The 32 feature bits `32*select .. 32*select+31` of `features`, as an unsigned Number (0 beyond bit 63). */
export function featureWord(features: bigint, select: number): number {
  if (select < 0 || select > 1) return 0;
  return Number((features >> BigInt(32 * select)) & 0xffff_ffffn);
}
