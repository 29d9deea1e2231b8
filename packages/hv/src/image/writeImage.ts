/**
 * The image writer: lays out the header, section table and 4 KiB-aligned
 * sections of IMAGE_HEADER_LAYOUT, hashing each section and then the header.
 * Deterministic: the output depends only on the arguments.
 */

import { CMDLINE_MAX } from '../abi.js';
import { headerDigest, isFieldText, sha256, writeText, writeU64 } from './imageCodec.js';
import { ImageError } from './imageError.js';
import {
  BUILDER_FIELD_MAX,
  IMAGE_HEADER_LAYOUT as H,
  IMAGE_HEADER_SIZE,
  IMAGE_MAGIC,
  IMAGE_VERSION,
  MAX_SECTIONS,
  REQUIRED_SECTIONS,
  SECTION_ENTRY_LAYOUT as E,
  SECTION_ENTRY_SIZE,
  SECTION_NAME_MAX,
  alignSection,
  headerLengthFor,
} from './imageLayout.js';
import { canonicalJson, manifestProblem, type ImageManifest } from './imageManifest.js';

/** What goes into an image. */
export interface ImageInput {
  /** The kernel bundle: JavaScript source, stored as UTF-8. */
  readonly kernel: string;
  /** The root filesystem volume (a rofs image). */
  readonly rootfs: Uint8Array;
  /** The default command line (at most CMDLINE_MAX bytes of UTF-8). */
  readonly cmdline: string;
  /** The manifest; its `builder` is taken from writeImage's `builder` argument. */
  readonly manifest: Omit<ImageManifest, 'builder'>;
  /** Further sections by name (1..16 printable ASCII characters, no space); kept as given. */
  readonly extra?: Readonly<Record<string, Uint8Array>>;
}

/** The tool writing the image, recorded in the header and the manifest. */
export interface BuilderInfo {
  /** 1..32 printable ASCII characters. */
  readonly name: string;
  /** 1..32 printable ASCII characters. */
  readonly version: string;
}

interface PlannedSection {
  readonly name: string;
  readonly data: Uint8Array;
  offset: number;
}

const encoder = new TextEncoder();

function badInput(message: string): ImageError {
  return new ImageError('BAD_INPUT', `writeImage: ${message}`);
}

function checkBuilder(builder: BuilderInfo): void {
  for (const key of ['name', 'version'] as const) {
    if (!isFieldText(builder[key], BUILDER_FIELD_MAX)) {
      throw badInput(`builder ${key} must be 1 to ${BUILDER_FIELD_MAX} printable ASCII characters`);
    }
  }
}

function planSections(input: ImageInput, builder: BuilderInfo): PlannedSection[] {
  const cmdline = encoder.encode(input.cmdline);
  if (cmdline.length > CMDLINE_MAX) {
    throw badInput(`the command line is ${cmdline.length} bytes; at most ${CMDLINE_MAX} fit the boot page`);
  }
  const manifest = { ...input.manifest, builder: { name: builder.name, version: builder.version } };
  const problem = manifestProblem(manifest);
  if (problem !== undefined) throw badInput(`manifest: ${problem}`);
  const required: Record<(typeof REQUIRED_SECTIONS)[number], Uint8Array> = {
    kernel: encoder.encode(input.kernel),
    rootfs: input.rootfs,
    cmdline,
    manifest: encoder.encode(canonicalJson(manifest)),
  };
  const sections: PlannedSection[] = REQUIRED_SECTIONS.map((name) => ({ name, data: required[name], offset: 0 }));
  for (const name of Object.keys(input.extra ?? {}).sort()) {
    if (!isFieldText(name, SECTION_NAME_MAX, false)) {
      throw badInput(`section name '${name}' must be 1 to ${SECTION_NAME_MAX} printable ASCII characters`);
    }
    if ((REQUIRED_SECTIONS as readonly string[]).includes(name)) throw badInput(`extra section '${name}' clashes with a required one`);
    sections.push({ name, data: (input.extra as Record<string, Uint8Array>)[name] as Uint8Array, offset: 0 });
  }
  if (sections.length > MAX_SECTIONS) throw badInput(`${sections.length} sections; at most ${MAX_SECTIONS}`);
  return sections;
}

function writeHeader(out: Uint8Array, sections: readonly PlannedSection[], builder: BuilderInfo): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  writeText(out, 0, H.magic, IMAGE_MAGIC);
  view.setUint32(H.version.offset, IMAGE_VERSION, true);
  view.setUint32(H.headerLength.offset, headerLengthFor(sections.length), true);
  view.setUint32(H.sectionCount.offset, sections.length, true);
  writeText(out, 0, H.builderName, builder.name);
  writeText(out, 0, H.builderVersion, builder.version);
  sections.forEach((s, i) => {
    const base = IMAGE_HEADER_SIZE + i * SECTION_ENTRY_SIZE;
    writeText(out, base, E.name, s.name);
    writeU64(view, base + E.offsetLo.offset, s.offset);
    writeU64(view, base + E.lengthLo.offset, s.data.length);
    out.set(sha256(s.data), base + E.sha256.offset);
  });
  out.set(headerDigest(out, headerLengthFor(sections.length)), H.headerSha256.offset);
}

/**
 * Builds an image from its sections. Sections go in the order kernel, rootfs,
 * cmdline, manifest, then the extra ones sorted by name, each at the next
 * 4 KiB boundary; the file ends where the last section ends. The same
 * arguments always give the same bytes (no timestamps).
 *
 * @throws ImageError BAD_INPUT when a builder field, section name, the command
 *   line or the manifest cannot be encoded.
 */
export function writeImage(input: ImageInput, builder: BuilderInfo): Uint8Array {
  checkBuilder(builder);
  const sections = planSections(input, builder);
  let end = headerLengthFor(sections.length);
  for (const s of sections) {
    s.offset = alignSection(end);
    end = s.offset + s.data.length;
  }
  if (!Number.isSafeInteger(end)) throw badInput('the image would be larger than 2^53 bytes');
  const out = new Uint8Array(end);
  for (const s of sections) out.set(s.data, s.offset);
  writeHeader(out, sections, builder);
  return out;
}
