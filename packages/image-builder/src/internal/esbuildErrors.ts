/** Turning esbuild's failures into one-line BuildErrors. */

import type { Message } from 'esbuild';
import { BuildError } from './buildError.js';

function where(m: Message): string {
  return m.location === null ? '' : `${m.location.file}:${m.location.line}:${m.location.column + 1}: `;
}

/**
 * Rethrows an esbuild failure as BuildError BUNDLE_FAILED, naming what was
 * being bundled and the first error with its location; other errors pass
 * through unchanged.
 */
export function bundleFailure(what: string, e: unknown): never {
  const errors = (e as { errors?: Message[] }).errors;
  if (!Array.isArray(errors) || errors.length === 0) throw e;
  const first = errors[0] as Message;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  throw new BuildError('BUNDLE_FAILED', `${what}: ${where(first)}${first.text}${more}`, { cause: e });
}
