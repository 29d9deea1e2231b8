/**
 * osv-build's one error class. Every failure a user can cause — a bad option,
 * a bad osv-app.json, an unknown or unselected module, a bundling error — is a
 * BuildError whose message is one line saying what is wrong and what to do.
 */

/** Every BuildError code, with what it means. */
export const BUILD_ERROR_CODES = {
  /** A command-line option or library option is malformed (the CLI exits 2). */
  USAGE: 'USAGE',
  /** The app is missing or its osv-app.json is invalid. */
  BAD_APP: 'BAD_APP',
  /** A module name that no known package provides. */
  UNKNOWN_MODULE: 'UNKNOWN_MODULE',
  /** The app imports a module the build did not select. */
  MODULE_NOT_SELECTED: 'MODULE_NOT_SELECTED',
  /** A module package is malformed (package.json, exports). */
  BAD_MODULE: 'BAD_MODULE',
  /** esbuild could not bundle the kernel or the app. */
  BUNDLE_FAILED: 'BUNDLE_FAILED',
  /** Reading an input or writing the image failed. */
  IO: 'IO',
  /** The inputs cannot fit an image (command line too long, volume too big). */
  TOO_LARGE: 'TOO_LARGE',
} as const;

/** One of the BUILD_ERROR_CODES. */
export type BuildErrorCode = keyof typeof BUILD_ERROR_CODES;

/** Raised by buildImage, writeImageFile and the osv-build CLI. */
export class BuildError extends Error {
  override readonly name = 'BuildError';
  /** What went wrong, from BUILD_ERROR_CODES. */
  readonly code: BuildErrorCode;

  constructor(code: BuildErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
