/**
 * The split virtqueue as it lies in guest memory, virtio-v1.2 section 2.7:
 * a descriptor table, an available ring (driver area) and a used ring
 * (device area), each with its own alignment. Both sides derive every offset
 * from these tables. All fields are little-endian.
 */

import { packed, type Layout } from '../layout.js';

/** Largest queue size of a split virtqueue (2.7: "The maximum Queue Size value is 32768"). */
export const VIRTQ_MAX_SIZE = 32768;

/** Alignment of the descriptor table, bytes (2.7, "Virtqueue Part Alignment"). */
export const VIRTQ_DESC_ALIGN = 16;
/** Alignment of the available ring, bytes (2.7). */
export const VIRTQ_AVAIL_ALIGN = 2;
/** Alignment of the used ring, bytes (2.7). */
export const VIRTQ_USED_ALIGN = 4;

/** This descriptor continues the chain through `next` (2.7.5). */
export const VIRTQ_DESC_F_NEXT = 1;
/** The buffer is device-writable; otherwise device-readable (2.7.5). */
export const VIRTQ_DESC_F_WRITE = 2;
/** The buffer holds a table of indirect descriptors (2.7.5.3). */
export const VIRTQ_DESC_F_INDIRECT = 4;

/** Set by the driver in avail.flags: do not interrupt me (2.7.7; ignored under EVENT_IDX). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** Set by the device in used.flags: do not notify me (2.7.10; ignored under EVENT_IDX). */
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/**
 * struct virtq_desc, 2.7.5: one descriptor of the table (or of an indirect
 * table). Written by the driver, read by the device.
 */
export const VIRTQ_DESC_LAYOUT = packed([
  ['addr', 8], // le64 guest physical address of the buffer
  ['len', 4], // le32 buffer length, bytes
  ['flags', 2], // le16 VIRTQ_DESC_F_*
  ['next', 2], // le16 index of the next descriptor when flags has NEXT
] as const);

/** struct virtq_used_elem, 2.7.8: one entry of the used ring. Written by the device. */
export const VIRTQ_USED_ELEM_LAYOUT = packed([
  ['id', 4], // le32 head index of the completed descriptor chain
  ['len', 4], // le32 bytes the device wrote into the chain's writable buffers
] as const);

/** The available ring's fields; `ring` holds N le16 head indices. */
export type VirtqAvailLayout = Layout<'flags' | 'idx' | 'ring' | 'used_event'>;
/** The used ring's fields; `ring` holds N virtq_used_elem. */
export type VirtqUsedLayout = Layout<'flags' | 'idx' | 'ring' | 'avail_event'>;

/**
 * struct virtq_avail for a queue of `n` entries, 2.7.6. Driver writes, device
 * reads. `used_event` exists only in effect under VIRTIO_F_EVENT_IDX.
 */
export function virtqAvailLayout(n: number): VirtqAvailLayout {
  return packed([
    ['flags', 2], // le16 VIRTQ_AVAIL_F_*
    ['idx', 2], // le16 where the driver puts the next entry (free-running, mod 2^16)
    ['ring', 2 * n], // le16[n] head indices
    ['used_event', 2], // le16 (EVENT_IDX) interrupt me when used idx passes this
  ] as const);
}

/**
 * struct virtq_used for a queue of `n` entries, 2.7.8. Device writes, driver
 * reads. `avail_event` exists only in effect under VIRTIO_F_EVENT_IDX.
 */
export function virtqUsedLayout(n: number): VirtqUsedLayout {
  return packed([
    ['flags', 2], // le16 VIRTQ_USED_F_*
    ['idx', 2], // le16 where the device puts the next entry (free-running, mod 2^16)
    ['ring', VIRTQ_USED_ELEM_LAYOUT.SIZE * n], // virtq_used_elem[n]
    ['avail_event', 2], // le16 (EVENT_IDX) notify me when avail idx passes this
  ] as const);
}

/** One part of a virtqueue: offset from the start of a contiguous allocation, size and alignment, bytes. */
export interface VirtqPart {
  /** Offset from the descriptor table's start, bytes. */
  readonly offset: number;
  /** Size, bytes. */
  readonly size: number;
  /** Required alignment of its physical address, bytes. */
  readonly align: number;
}

/** The three parts of a queue of `size` entries, laid out contiguously with the spec's alignments. */
export interface VirtqLayout {
  /** Queue size N (entries). */
  readonly queueSize: number;
  /** Descriptor table: N * 16 bytes, 16-aligned. */
  readonly desc: VirtqPart;
  /** Available ring (driver area): 6 + 2N bytes, 2-aligned. */
  readonly avail: VirtqPart & { readonly fields: VirtqAvailLayout };
  /** Used ring (device area): 6 + 8N bytes, 4-aligned. */
  readonly used: VirtqPart & { readonly fields: VirtqUsedLayout };
  /** Bytes from the descriptor table's start to the used ring's end. */
  readonly totalSize: number;
}

/** Whether `n` is a valid split-queue size: a power of two from 1 to VIRTQ_MAX_SIZE (2.7). */
export function isValidQueueSize(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= VIRTQ_MAX_SIZE && (n & (n - 1)) === 0;
}

/**
 * Sizes and offsets of a split virtqueue of `queueSize` entries placed in one
 * allocation aligned to VIRTQ_DESC_ALIGN: descriptor table first, available ring
 * right after it, used ring at the next 4-byte boundary. Use it to size the DMA
 * allocation (driver) or to check a guest's ring placement (device).
 * @throws RangeError when `queueSize` is not a power of two in 1..32768
 */
export function virtqLayout(queueSize: number): VirtqLayout {
  if (!isValidQueueSize(queueSize)) {
    throw new RangeError(`queue size ${queueSize} is not a power of two in 1..${VIRTQ_MAX_SIZE}`);
  }
  const descSize = VIRTQ_DESC_LAYOUT.SIZE * queueSize;
  const availFields = virtqAvailLayout(queueSize);
  const usedFields = virtqUsedLayout(queueSize);
  const availOffset = descSize; // 16N is already 2-aligned
  const usedOffset = alignUp(availOffset + availFields.SIZE, VIRTQ_USED_ALIGN);
  return Object.freeze({
    queueSize,
    desc: Object.freeze({ offset: 0, size: descSize, align: VIRTQ_DESC_ALIGN }),
    avail: Object.freeze({ offset: availOffset, size: availFields.SIZE, align: VIRTQ_AVAIL_ALIGN, fields: availFields }),
    used: Object.freeze({ offset: usedOffset, size: usedFields.SIZE, align: VIRTQ_USED_ALIGN, fields: usedFields }),
    totalSize: usedOffset + usedFields.SIZE,
  });
}

function alignUp(x: number, align: number): number {
  return Math.ceil(x / align) * align;
}
