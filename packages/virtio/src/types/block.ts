/**
 * Block device (virtio-v1.2 section 5.2): feature bits, configuration space,
 * the request header and trailer, request types and status codes. A request
 * is one chain: the 16-byte header (device-readable), the data (readable for
 * writes, writable for reads), and one status byte (device-writable, last).
 */

import { packed } from '../layout.js';

/** Size of a sector: capacity and request sectors count in these, bytes (5.2.4). */
export const VIRTIO_BLK_SECTOR_SIZE = 512;
/** Length of the string a GET_ID request returns, bytes (5.2.6). */
export const VIRTIO_BLK_ID_BYTES = 20;

// Feature bits, 5.2.3.
/** size_max is valid. */
export const VIRTIO_BLK_F_SIZE_MAX = 1;
/** seg_max is valid. */
export const VIRTIO_BLK_F_SEG_MAX = 2;
/** geometry is valid. */
export const VIRTIO_BLK_F_GEOMETRY = 4;
/** The device is read-only. */
export const VIRTIO_BLK_F_RO = 5;
/** blk_size is valid. */
export const VIRTIO_BLK_F_BLK_SIZE = 6;
/** VIRTIO_BLK_T_FLUSH is supported. */
export const VIRTIO_BLK_F_FLUSH = 9;
/** topology is valid. */
export const VIRTIO_BLK_F_TOPOLOGY = 10;
/** writeback is valid and writable. */
export const VIRTIO_BLK_F_CONFIG_WCE = 11;
/** num_queues is valid. */
export const VIRTIO_BLK_F_MQ = 12;
/** VIRTIO_BLK_T_DISCARD is supported. */
export const VIRTIO_BLK_F_DISCARD = 13;
/** VIRTIO_BLK_T_WRITE_ZEROES is supported. */
export const VIRTIO_BLK_F_WRITE_ZEROES = 14;
/** VIRTIO_BLK_T_GET_LIFETIME is supported. */
export const VIRTIO_BLK_F_LIFETIME = 15;
/** VIRTIO_BLK_T_SECURE_ERASE is supported. */
export const VIRTIO_BLK_F_SECURE_ERASE = 16;

// Request types (virtio_blk_req.type), 5.2.6.
/** Read sectors into the writable data buffers. */
export const VIRTIO_BLK_T_IN = 0;
/** Write sectors from the readable data buffers. */
export const VIRTIO_BLK_T_OUT = 1;
/** Commit the write cache. */
export const VIRTIO_BLK_T_FLUSH = 4;
/** Write the device id string (VIRTIO_BLK_ID_BYTES). */
export const VIRTIO_BLK_T_GET_ID = 8;
/** Report device lifetime estimates (LIFETIME). */
export const VIRTIO_BLK_T_GET_LIFETIME = 10;
/** Discard ranges given as VIRTIO_BLK_DISCARD_WRITE_ZEROES_LAYOUT segments (DISCARD). */
export const VIRTIO_BLK_T_DISCARD = 11;
/** Write zeroes to ranges given as segments (WRITE_ZEROES). */
export const VIRTIO_BLK_T_WRITE_ZEROES = 13;
/** Securely erase ranges given as segments (SECURE_ERASE). */
export const VIRTIO_BLK_T_SECURE_ERASE = 14;

// Request status codes (the trailing status byte), 5.2.6.
/** The request succeeded. */
export const VIRTIO_BLK_S_OK = 0;
/** The request failed with an I/O error. */
export const VIRTIO_BLK_S_IOERR = 1;
/** The request type is not supported. */
export const VIRTIO_BLK_S_UNSUPP = 2;

/** Flag of a write-zeroes segment: the device may unmap the range. */
export const VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;

/**
 * struct virtio_blk_config, 5.2.4 (1.2 form: num_queues replaces two bytes of
 * the 1.1 padding). The zoned-characteristics block that follows under
 * VIRTIO_BLK_F_ZONED is not declared. Device writes, driver reads (writeback:
 * driver writes under CONFIG_WCE).
 */
export const VIRTIO_BLK_CONFIG_LAYOUT = packed([
  ['capacity', 8], // le64 size of the device, sectors
  ['size_max', 4], // le32 (SIZE_MAX) largest segment, bytes
  ['seg_max', 4], // le32 (SEG_MAX) most segments in a request
  ['cylinders', 2], // le16 geometry (GEOMETRY)
  ['heads', 1], // u8
  ['sectors', 1], // u8
  ['blk_size', 4], // le32 (BLK_SIZE) optimal logical block size, bytes
  ['physical_block_exp', 1], // u8 topology (TOPOLOGY): log2 logical blocks per physical block
  ['alignment_offset', 1], // u8 offset of the first aligned logical block
  ['min_io_size', 2], // le16 suggested minimum I/O size, blocks
  ['opt_io_size', 4], // le32 optimal I/O size, blocks
  ['writeback', 1], // u8 (CONFIG_WCE) 0 write-through, 1 write-back
  ['unused0', 1],
  ['num_queues', 2], // le16 (MQ) number of request queues
  ['max_discard_sectors', 4], // le32 (DISCARD)
  ['max_discard_seg', 4], // le32
  ['discard_sector_alignment', 4], // le32, sectors
  ['max_write_zeroes_sectors', 4], // le32 (WRITE_ZEROES)
  ['max_write_zeroes_seg', 4], // le32
  ['write_zeroes_may_unmap', 1], // u8
  ['unused1', 3],
  ['max_secure_erase_sectors', 4], // le32 (SECURE_ERASE)
  ['max_secure_erase_seg', 4], // le32
  ['secure_erase_sector_alignment', 4], // le32, sectors
] as const);

/** The device-readable header at the start of every request (struct virtio_blk_req), 5.2.6. */
export const VIRTIO_BLK_REQ_LAYOUT = packed([
  ['type', 4], // le32 VIRTIO_BLK_T_*
  ['reserved', 4], // le32 (legacy ioprio)
  ['sector', 8], // le64 first sector, for IN and OUT
] as const);

/** The device-writable trailer at the end of every request, 5.2.6. */
export const VIRTIO_BLK_REQ_STATUS_LAYOUT = packed([
  ['status', 1], // u8 VIRTIO_BLK_S_*
] as const);

/** One segment of a DISCARD, WRITE_ZEROES or SECURE_ERASE request's data, 5.2.6. */
export const VIRTIO_BLK_DISCARD_WRITE_ZEROES_LAYOUT = packed([
  ['sector', 8], // le64 first sector
  ['num_sectors', 4], // le32
  ['flags', 4], // le32 VIRTIO_BLK_WRITE_ZEROES_FLAG_*
] as const);
