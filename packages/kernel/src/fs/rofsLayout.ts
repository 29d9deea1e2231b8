/**
 * On-disk layout of rofs, osv-ts's read-only archive filesystem (after OSv's
 * fs/rofs: a superblock, an inode table, directory entries and file data,
 * written once by the image builder and mounted from memory). This file is the
 * format's specification; the builder and the mount code take every offset
 * from these tables.
 *
 *   0                  ROFS_SUPERBLOCK_LAYOUT
 *   inodeTableOffset   inodeCount x ROFS_INODE_LAYOUT; inode 0 is the root directory
 *   direntTableOffset  direntCount x ROFS_DIRENT_LAYOUT; each directory's entries
 *                      are contiguous and sorted by name bytes
 *   namesOffset        entry names, UTF-8, not NUL-terminated
 *   dataOffset         file contents
 *
 * All integers are little-endian u32 or u16, so a volume is at most 4 GiB - 1
 * bytes. Regions come in the order above and do not overlap. No timestamps.
 * Every inode but the root has exactly one directory entry (no hard links), so
 * the directories form a tree.
 */

import { packed } from '@osv-ts/virtio';

/** Superblock magic: 'ROFS' read as a little-endian u32. */
export const ROFS_MAGIC = 0x53464f52;
/** The layout version this code reads and writes. */
export const ROFS_VERSION = 1;
/** Inode number of the root directory. */
export const ROFS_ROOT_INODE = 0;
/** Longest entry name, bytes of UTF-8 (NAME_MAX). */
export const ROFS_NAME_MAX = 255;
/** Longest path the builder accepts, bytes of UTF-8 (PATH_MAX). */
export const ROFS_PATH_MAX = 4096;
/** File data starts at multiples of this many bytes within the data area. */
export const ROFS_DATA_ALIGN = 8;

/** st_mode file-type mask and the two types rofs holds (POSIX <sys/stat.h>). */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
/** Permission bits of st_mode (including set-id and sticky). */
export const S_IPERM = 0o7777;

/** The superblock at byte 0. Offsets and lengths are bytes from the start of the volume. */
export const ROFS_SUPERBLOCK_LAYOUT = packed([
  ['magic', 4], // ROFS_MAGIC
  ['version', 4], // ROFS_VERSION
  ['volumeLength', 4], // bytes of the whole volume
  ['inodeCount', 4], // at least 1 (the root)
  ['inodeTableOffset', 4],
  ['direntCount', 4], // always inodeCount - 1
  ['direntTableOffset', 4],
  ['namesOffset', 4],
  ['namesLength', 4],
  ['dataOffset', 4],
  ['dataLength', 4],
  ['reserved', 20], // zero
] as const);

/** One inode. */
export const ROFS_INODE_LAYOUT = packed([
  ['mode', 4], // st_mode: S_IFREG or S_IFDIR plus permission bits
  ['size', 4], // file: bytes; directory: number of entries
  ['offset', 4], // file: byte offset in the data area; directory: index of its first entry
  ['reserved', 4], // zero
] as const);

/** One directory entry. */
export const ROFS_DIRENT_LAYOUT = packed([
  ['inode', 4], // inode number of the entry
  ['nameOffset', 4], // byte offset of the name in the names area
  ['nameLength', 2], // bytes, 1..ROFS_NAME_MAX
  ['reserved', 2], // zero
] as const);
