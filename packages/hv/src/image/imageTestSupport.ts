/**
 * Test support for the image format (not exported from the package): sample
 * images, and forging helpers that change a field and then recompute the
 * checksums, so tests can reach the checks that sit behind them.
 */

import { headerDigest, readU64, sha256, writeText, writeU64 } from './imageCodec.js';
import { IMAGE_HEADER_LAYOUT as H, IMAGE_HEADER_SIZE, SECTION_ENTRY_LAYOUT as E, SECTION_ENTRY_SIZE } from './imageLayout.js';
import type { ImageManifest } from './imageManifest.js';
import { writeImage, type ImageInput } from './writeImage.js';

/** A valid manifest without its builder. */
export const SAMPLE_MANIFEST: Omit<ImageManifest, 'builder'> = {
  format: 1,
  app: { name: 'hello', version: '1.0.0', entry: '/hello.js' },
  modules: [{ name: 'kernel', package: '@osv-ts/kernel', version: '0.1.0' }],
  requires: { devices: ['console'], memory: 64 * 1024 * 1024, cpus: 1 },
};

/** The builder the samples are written with. */
export const SAMPLE_BUILDER = { name: '@osv-ts/image-builder', version: '0.1.0' };

/** Writes a small valid image; `over` replaces any input field. */
export function sampleImage(over: Partial<ImageInput> = {}): Uint8Array {
  const rootfs = new Uint8Array(300).map((_, i) => (i * 7 + 1) & 0xff);
  return writeImage({ kernel: 'globalThis.__osvKernelStart = () => {};\n', rootfs, cmdline: '/hello.js', manifest: SAMPLE_MANIFEST, ...over }, SAMPLE_BUILDER);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Number of entries the header claims. */
export function sectionCount(bytes: Uint8Array): number {
  return viewOf(bytes).getUint32(H.sectionCount.offset, true);
}

/** Offset and length of table entry `i` (as stored). */
export function entryAt(bytes: Uint8Array, i: number): { offset: number; length: number } {
  const base = IMAGE_HEADER_SIZE + i * SECTION_ENTRY_SIZE;
  return { offset: readU64(viewOf(bytes), base + E.offsetLo.offset) ?? NaN, length: readU64(viewOf(bytes), base + E.lengthLo.offset) ?? NaN };
}

/** Rewrites fields of table entry `i` (checksums are not updated: call reseal). */
export function setEntry(bytes: Uint8Array, i: number, f: { name?: string; offset?: number; length?: number }): void {
  const base = IMAGE_HEADER_SIZE + i * SECTION_ENTRY_SIZE;
  if (f.name !== undefined) writeText(bytes, base, E.name, f.name);
  if (f.offset !== undefined) writeU64(viewOf(bytes), base + E.offsetLo.offset, f.offset);
  if (f.length !== undefined) writeU64(viewOf(bytes), base + E.lengthLo.offset, f.length);
}

/**
 * Recomputes every section digest whose section lies inside the file, then the
 * header digest (when the header length fits), as a forger would.
 */
export function reseal(bytes: Uint8Array): void {
  if (bytes.length < IMAGE_HEADER_SIZE) return;
  const view = viewOf(bytes);
  const headerLength = view.getUint32(H.headerLength.offset, true);
  if (headerLength > bytes.length || headerLength < IMAGE_HEADER_SIZE) return;
  const count = Math.floor((headerLength - IMAGE_HEADER_SIZE) / SECTION_ENTRY_SIZE);
  for (let i = 0; i < count; i++) {
    const { offset, length } = entryAt(bytes, i);
    if (offset + length <= bytes.length) {
      bytes.set(sha256(bytes.subarray(offset, offset + length)), IMAGE_HEADER_SIZE + i * SECTION_ENTRY_SIZE + E.sha256.offset);
    }
  }
  bytes.set(headerDigest(bytes, headerLength), H.headerSha256.offset);
}
