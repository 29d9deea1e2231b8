/**
 * The image reader. It trusts nothing: every length, offset, name and checksum
 * is verified before anything is returned, in the order that names the
 * damaged part best — magic, version, header consistency, header checksum,
 * section table, bounds, padding, section checksums, then section contents.
 */

import { CMDLINE_MAX } from '../abi.js';
import { hex, headerDigest, readText, readU64, sameBytes, sha256 } from './imageCodec.js';
import { ImageError } from './imageError.js';
import {
  IMAGE_HEADER_LAYOUT as H,
  IMAGE_HEADER_SIZE,
  IMAGE_MAGIC,
  IMAGE_VERSION,
  MAX_SECTIONS,
  REQUIRED_SECTIONS,
  SECTION_ALIGN,
  SECTION_ENTRY_LAYOUT as E,
  SECTION_ENTRY_SIZE,
  headerLengthFor,
} from './imageLayout.js';
import { manifestProblem, type ImageManifest } from './imageManifest.js';

/** One section of a verified image. */
export interface ImageSection {
  /** Section name. */
  readonly name: string;
  /** Byte offset in the file. */
  readonly offset: number;
  /** The section's bytes: a zero-copy view into the image. */
  readonly bytes: Uint8Array;
  /** Its SHA-256, lower-case hex (verified). */
  readonly sha256: string;
}

/** A verified image, as readImage returns it. */
export interface ParsedImage {
  /** The name the image was read under (used in messages). */
  readonly imageName: string;
  /** Format version (IMAGE_VERSION). */
  readonly version: number;
  /** The builder recorded in the header. */
  readonly builder: { readonly name: string; readonly version: string };
  /** Every section's bytes by name, required and extra (zero-copy views). */
  readonly sections: Readonly<Record<string, Uint8Array>>;
  /** The section table in file order, with offsets and digests. */
  readonly sectionTable: readonly ImageSection[];
  /** The kernel bundle's bytes (zero-copy). */
  readonly kernel: Uint8Array;
  /** The kernel bundle as JavaScript source. */
  readonly kernelSource: string;
  /** The root filesystem volume (zero-copy). */
  readonly rootfs: Uint8Array;
  /** The default command line. */
  readonly cmdline: string;
  /** The parsed, shape-checked manifest. */
  readonly manifest: ImageManifest;
  /** Sections other than the four required ones, by name (zero-copy). */
  readonly extra: ReadonlyMap<string, Uint8Array>;
}

interface Entry {
  readonly name: string;
  readonly offset: number;
  readonly length: number;
  readonly sha256: Uint8Array;
}

const REBUILD = 'rebuild with osv-build';
const magicBytes = Array.from(IMAGE_MAGIC, (c) => c.charCodeAt(0));

function fail(code: ImageError['code'], message: string, section?: string): never {
  throw new ImageError(code, message, section === undefined ? undefined : { section });
}

function checkMagic(bytes: Uint8Array, name: string): void {
  const n = Math.min(bytes.length, magicBytes.length);
  for (let i = 0; i < n; i++) {
    if (bytes[i] !== magicBytes[i]) fail('NOT_AN_IMAGE', `${name}: not an osv-ts image (no ${IMAGE_MAGIC} magic)`);
  }
  if (bytes.length < IMAGE_HEADER_SIZE) {
    fail('TRUNCATED', `image ${name}: truncated — the header needs ${IMAGE_HEADER_SIZE} bytes but the file has ${bytes.length} bytes`);
  }
}

/** Verifies the fixed header and its checksum; returns the header length. */
function checkHeader(bytes: Uint8Array, view: DataView, name: string): number {
  checkMagic(bytes, name);
  const version = view.getUint32(H.version.offset, true);
  if (version !== IMAGE_VERSION) {
    fail('UNSUPPORTED_VERSION', `image ${name}: format version ${version} is not supported (this osv-ts reads version ${IMAGE_VERSION}) — ${REBUILD} or use the osv-run that matches it`);
  }
  const count = view.getUint32(H.sectionCount.offset, true);
  const headerLength = view.getUint32(H.headerLength.offset, true);
  if (count > MAX_SECTIONS || headerLength !== headerLengthFor(count)) {
    fail('BAD_HEADER', `image ${name}: header damaged — header length ${headerLength} does not fit ${count} sections; ${REBUILD}`);
  }
  if (headerLength > bytes.length) {
    fail('TRUNCATED', `image ${name}: truncated — the section table ends at byte ${headerLength} but the file has ${bytes.length} bytes`);
  }
  if (!sameBytes(headerDigest(bytes, headerLength), bytes.subarray(H.headerSha256.offset, H.headerSha256.offset + H.headerSha256.size))) {
    fail('HEADER_CHECKSUM', `image ${name}: header checksum mismatch — the header or section table is damaged; ${REBUILD}`);
  }
  if (view.getUint32(H.reserved0.offset, true) !== 0 || !isZero(bytes, H.reserved1.offset, H.reserved1.offset + H.reserved1.size)) {
    fail('BAD_HEADER', `image ${name}: reserved header fields are not zero — written by an incompatible tool; ${REBUILD}`);
  }
  return headerLength;
}

function readBuilder(bytes: Uint8Array, name: string): { name: string; version: string } {
  const builderName = readText(bytes, 0, H.builderName);
  const builderVersion = readText(bytes, 0, H.builderVersion);
  if (builderName === undefined || builderVersion === undefined) {
    fail('BAD_HEADER', `image ${name}: the header's builder name or version is not NUL-padded ASCII; ${REBUILD}`);
  }
  return { name: builderName, version: builderVersion };
}

function readEntry(bytes: Uint8Array, view: DataView, i: number, name: string): Entry {
  const base = IMAGE_HEADER_SIZE + i * SECTION_ENTRY_SIZE;
  const section = readText(bytes, base, E.name, false);
  if (section === undefined) fail('BAD_SECTION_TABLE', `image ${name}: section table entry ${i} has no valid name; ${REBUILD}`);
  const offset = readU64(view, base + E.offsetLo.offset);
  const length = readU64(view, base + E.lengthLo.offset);
  if (offset === undefined || length === undefined || offset + length > Number.MAX_SAFE_INTEGER) {
    fail('BAD_SECTION_TABLE', `image ${name}: section ${section} has an offset or length past 2^53; ${REBUILD}`, section);
  }
  if (offset % SECTION_ALIGN !== 0) {
    fail('BAD_SECTION_TABLE', `image ${name}: section ${section} starts at byte ${offset}, not a multiple of ${SECTION_ALIGN}; ${REBUILD}`, section);
  }
  const digest = bytes.subarray(base + E.sha256.offset, base + E.sha256.offset + E.sha256.size);
  return { name: section, offset, length, sha256: digest };
}

/** Parses the table and checks names, order, overlap, bounds and presence. */
function readTable(bytes: Uint8Array, view: DataView, headerLength: number, name: string): Entry[] {
  const count = (headerLength - IMAGE_HEADER_SIZE) / SECTION_ENTRY_SIZE;
  const entries: Entry[] = [];
  const seen = new Set<string>();
  let end = headerLength;
  for (let i = 0; i < count; i++) {
    const e = readEntry(bytes, view, i, name);
    if (seen.has(e.name)) fail('BAD_SECTION_TABLE', `image ${name}: section ${e.name} appears twice in the section table; ${REBUILD}`, e.name);
    if (e.offset < end) {
      fail('BAD_SECTION_TABLE', `image ${name}: section ${e.name} at byte ${e.offset} overlaps what precedes it (sections must be in ascending order, ending at byte ${end}); ${REBUILD}`, e.name);
    }
    seen.add(e.name);
    entries.push(e);
    end = e.offset + e.length;
  }
  for (const required of REQUIRED_SECTIONS) {
    if (!seen.has(required)) fail('MISSING_SECTION', `image ${name}: section ${required} is missing — ${REBUILD}`, required);
  }
  for (const e of entries) {
    if (e.offset + e.length > bytes.length) {
      fail('TRUNCATED', `image ${name}: truncated — section ${e.name} ends at byte ${e.offset + e.length} but the file has ${bytes.length} bytes`, e.name);
    }
  }
  if (end < bytes.length) {
    fail('BAD_SECTION_TABLE', `image ${name}: the file has ${bytes.length - end} bytes after its last section (which ends at byte ${end}) — it was appended to or its table is damaged; ${REBUILD}`);
  }
  return entries;
}

function isZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Checks the zero padding and each section's digest. */
function checkSections(bytes: Uint8Array, entries: readonly Entry[], headerLength: number, name: string): void {
  const first = entries[0];
  if (first !== undefined && !isZero(bytes, headerLength, first.offset)) {
    fail('BAD_HEADER', `image ${name}: the padding after the header is not zero — the image is damaged; ${REBUILD}`);
  }
  entries.forEach((e, i) => {
    const next = entries[i + 1];
    if (next !== undefined && !isZero(bytes, e.offset + e.length, next.offset)) {
      fail('SECTION_CHECKSUM', `image ${name}: section ${e.name} is followed by padding that is not zero — the image is damaged; ${REBUILD}`, e.name);
    }
    if (!sameBytes(sha256(bytes.subarray(e.offset, e.offset + e.length)), e.sha256)) {
      fail('SECTION_CHECKSUM', `image ${name}: section ${e.name} checksum mismatch — ${REBUILD}`, e.name);
    }
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeText(bytes: Uint8Array, section: string, name: string, code: 'BAD_SECTION' | 'BAD_MANIFEST'): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw new ImageError(code, `image ${name}: section ${section} is not valid UTF-8; ${REBUILD}`, { section, cause });
  }
}

function parseManifest(bytes: Uint8Array, builder: { name: string; version: string }, name: string): ImageManifest {
  const text = decodeText(bytes, 'manifest', name, 'BAD_MANIFEST');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ImageError('BAD_MANIFEST', `image ${name}: section manifest is not valid JSON; ${REBUILD}`, { section: 'manifest', cause });
  }
  const problem = manifestProblem(value);
  if (problem !== undefined) fail('BAD_MANIFEST', `image ${name}: manifest: ${problem}; ${REBUILD}`, 'manifest');
  const manifest = value as ImageManifest;
  if (manifest.builder.name !== builder.name || manifest.builder.version !== builder.version) {
    fail('BAD_MANIFEST', `image ${name}: manifest builder ${manifest.builder.name} ${manifest.builder.version} differs from the header's ${builder.name} ${builder.version}; ${REBUILD}`, 'manifest');
  }
  return manifest;
}

/**
 * Reads and verifies an image held in memory. Everything is checked before
 * anything is returned: magic, version, header checksum, the section table
 * (names, alignment, order, overlap, bounds), zero padding, every section's
 * SHA-256, the required sections, and their contents (UTF-8 kernel and
 * command line, manifest shape). Section bytes in the result are zero-copy
 * views into `bytes`, so the caller must not change `bytes` afterwards.
 *
 * @param imageName how to name the image in messages (usually its file name).
 * @throws ImageError for any defect; its `code` says which kind and `section`
 *   names the section to blame (undefined when the header is).
 */
export function readImage(bytes: Uint8Array, imageName: string): ParsedImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = checkHeader(bytes, view, imageName);
  const builder = readBuilder(bytes, imageName);
  const entries = readTable(bytes, view, headerLength, imageName);
  checkSections(bytes, entries, headerLength, imageName);
  const table = entries.map((e) => ({ name: e.name, offset: e.offset, bytes: bytes.subarray(e.offset, e.offset + e.length), sha256: hex(e.sha256) }));
  // Object.fromEntries defines own properties, so a section named __proto__ stays data.
  const sections: Readonly<Record<string, Uint8Array>> = Object.freeze(Object.fromEntries(table.map((s) => [s.name, s.bytes])));
  const get = (section: string): Uint8Array => sections[section] as Uint8Array;
  const cmdlineBytes = get('cmdline');
  if (cmdlineBytes.length > CMDLINE_MAX) {
    fail('BAD_SECTION', `image ${imageName}: section cmdline is ${cmdlineBytes.length} bytes; at most ${CMDLINE_MAX} fit the boot page; ${REBUILD}`, 'cmdline');
  }
  const extra = new Map(table.filter((s) => !(REQUIRED_SECTIONS as readonly string[]).includes(s.name)).map((s) => [s.name, s.bytes]));
  return {
    imageName,
    version: IMAGE_VERSION,
    builder,
    sections,
    sectionTable: table,
    kernel: get('kernel'),
    kernelSource: decodeText(get('kernel'), 'kernel', imageName, 'BAD_SECTION'),
    rootfs: get('rootfs'),
    cmdline: decodeText(cmdlineBytes, 'cmdline', imageName, 'BAD_SECTION'),
    manifest: parseManifest(get('manifest'), builder, imageName),
    extra,
  };
}
