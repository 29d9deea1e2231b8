/**
 * `@osv-ts/hv/image`: the osv-ts image format (DESIGN.md section 4) — one file
 * holding a checksummed header, a section table and the kernel, rootfs,
 * cmdline and manifest sections. osv-build writes it; osv-run reads and
 * verifies it before boot.
 */

export { writeImage } from './image/writeImage.js';
export type { ImageInput, BuilderInfo } from './image/writeImage.js';
export { readImage } from './image/readImage.js';
export type { ParsedImage, ImageSection } from './image/readImage.js';
export { ImageError, IMAGE_ERROR_CODES } from './image/imageError.js';
export type { ImageErrorCode } from './image/imageError.js';
export { canonicalJson, manifestProblem } from './image/imageManifest.js';
export type { ImageManifest } from './image/imageManifest.js';
export {
  IMAGE_MAGIC,
  IMAGE_VERSION,
  IMAGE_HEADER_LAYOUT,
  IMAGE_HEADER_SIZE,
  SECTION_ENTRY_LAYOUT,
  SECTION_ENTRY_SIZE,
  SECTION_ALIGN,
  MAX_SECTIONS,
  REQUIRED_SECTIONS,
} from './image/imageLayout.js';
export type { RequiredSection } from './image/imageLayout.js';
