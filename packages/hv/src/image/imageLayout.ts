/**
 * The on-disk layout of an osv-ts image (DESIGN.md section 4). This file is the
 * format's specification; every offset the reader and writer use comes from the
 * two tables below.
 *
 *   byte 0            IMAGE_HEADER_LAYOUT (IMAGE_HEADER_SIZE bytes)
 *   IMAGE_HEADER_SIZE sectionCount x SECTION_ENTRY_LAYOUT    (the section table)
 *   headerLength      zero padding up to the first section
 *   ...               sections, each at a multiple of SECTION_ALIGN, in
 *                     ascending offset order, zero padding between them
 *   end of file       the end of the last section (no trailing bytes)
 *
 * All integers are little-endian. 64-bit values are two 32-bit halves, low
 * first; readers refuse values of 2^53 or more. Text fields are ASCII,
 * NUL-padded on the right. There are no timestamps: the same inputs give the
 * same bytes.
 */

import { packed } from '@osv-ts/virtio';

/** The first 8 bytes of every image, ASCII. */
export const IMAGE_MAGIC = 'OSVTSIMG';
/** The format version this code reads and writes. */
export const IMAGE_VERSION = 1;
/** Sections start at multiples of this many bytes (one guest page). */
export const SECTION_ALIGN = 4096;
/** Most sections an image may carry (bounds the header a reader hashes). */
export const MAX_SECTIONS = 64;

/**
 * The image header. The header checksum is the SHA-256 of bytes
 * [0, headerLength) — this header and the section table — computed with the
 * `headerSha256` field itself zeroed.
 */
export const IMAGE_HEADER_LAYOUT = packed([
  ['magic', 8], // IMAGE_MAGIC
  ['version', 4], // u32, IMAGE_VERSION
  ['headerLength', 4], // u32 bytes: this header plus the section table
  ['sectionCount', 4], // u32, at most MAX_SECTIONS
  ['reserved0', 4], // zero
  ['builderName', 32], // ASCII, NUL-padded: the tool that wrote the image
  ['builderVersion', 32], // ASCII, NUL-padded: its version
  ['headerSha256', 32], // SHA-256, see above
  ['reserved1', 8], // zero
] as const);

/** Size of the fixed header, bytes (the section table starts here). */
export const IMAGE_HEADER_SIZE = IMAGE_HEADER_LAYOUT.SIZE;

/** One entry of the section table. */
export const SECTION_ENTRY_LAYOUT = packed([
  ['name', 16], // ASCII, NUL-padded, 1..16 printable characters
  ['offsetLo', 4], // u64 byte offset from the start of the file, a multiple of SECTION_ALIGN
  ['offsetHi', 4],
  ['lengthLo', 4], // u64 length in bytes (padding not included)
  ['lengthHi', 4],
  ['sha256', 32], // SHA-256 of the section's bytes
] as const);

/** Size of one section-table entry, bytes. */
export const SECTION_ENTRY_SIZE = SECTION_ENTRY_LAYOUT.SIZE;

/** Longest section name, bytes. */
export const SECTION_NAME_MAX = SECTION_ENTRY_LAYOUT.name.size;
/** Longest builder name or version, bytes. */
export const BUILDER_FIELD_MAX = IMAGE_HEADER_LAYOUT.builderName.size;

/** The sections every image must carry. */
export const REQUIRED_SECTIONS = ['kernel', 'rootfs', 'cmdline', 'manifest'] as const;
/** Name of one of the required sections. */
export type RequiredSection = (typeof REQUIRED_SECTIONS)[number];

/** Header length of an image with `sectionCount` sections, bytes. */
export function headerLengthFor(sectionCount: number): number {
  return IMAGE_HEADER_SIZE + sectionCount * SECTION_ENTRY_SIZE;
}

/** Rounds `n` bytes up to the next multiple of SECTION_ALIGN. */
export function alignSection(n: number): number {
  return Math.ceil(n / SECTION_ALIGN) * SECTION_ALIGN;
}
