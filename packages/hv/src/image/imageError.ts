/**
 * The image format's one error class. Readers of an image (osv-run, tools) get
 * an ImageError for every way a file can fail to be a sound image; the message
 * names the image and, when one is to blame, the section, and says what to do.
 */

/** Every ImageError code, with what it means. */
export const IMAGE_ERROR_CODES = {
  /** The file does not start with the OSVTSIMG magic. */
  NOT_AN_IMAGE: 'NOT_AN_IMAGE',
  /** The file ends before the header, the table or a section does. */
  TRUNCATED: 'TRUNCATED',
  /** The header names a format version this code does not read. */
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  /** The header's SHA-256 does not match: header or section table damaged. */
  HEADER_CHECKSUM: 'HEADER_CHECKSUM',
  /** A header field is inconsistent (lengths, counts, text fields, padding). */
  BAD_HEADER: 'BAD_HEADER',
  /** The section table is malformed: names, alignment, order, overlap, size. */
  BAD_SECTION_TABLE: 'BAD_SECTION_TABLE',
  /** A section's bytes (or the zero padding after it) were changed. */
  SECTION_CHECKSUM: 'SECTION_CHECKSUM',
  /** One of the required sections is absent. */
  MISSING_SECTION: 'MISSING_SECTION',
  /** A section's content is not what its kind needs (kernel or cmdline not UTF-8, cmdline too long). */
  BAD_SECTION: 'BAD_SECTION',
  /** The manifest section is not valid JSON of the ImageManifest shape. */
  BAD_MANIFEST: 'BAD_MANIFEST',
  /** writeImage was given something it cannot write. */
  BAD_INPUT: 'BAD_INPUT',
} as const;

/** One of the IMAGE_ERROR_CODES. */
export type ImageErrorCode = keyof typeof IMAGE_ERROR_CODES;

/**
 * Raised by readImage for a damaged, foreign or unsupported file, and by
 * writeImage for input it cannot encode. `section` names the section to blame,
 * undefined when the header (or the file as a whole) is.
 */
export class ImageError extends Error {
  override readonly name = 'ImageError';
  /** What went wrong, from IMAGE_ERROR_CODES. */
  readonly code: ImageErrorCode;
  /** The section at fault, or undefined for the header or the whole file. */
  readonly section: string | undefined;

  constructor(code: ImageErrorCode, message: string, options?: { section?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.section = options?.section;
  }
}
