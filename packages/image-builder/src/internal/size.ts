/** Sizes as people write them ("64M") and as reports print them ("64 MiB"): the hv's own rules, so osv-build and osv-run agree. */

import { formatSize, HvError, parseSize } from '@osv-ts/hv';
import { MIN_MEMORY, PAGE_SIZE } from '@osv-ts/hv/abi';
import { BuildError } from './buildError.js';

/**
 * Parses a guest memory size the way osv-run does (hv's parseSize: whole
 * bytes, or a number with a K, M, G or T suffix). The result must be at least
 * MIN_MEMORY and a multiple of PAGE_SIZE.
 *
 * @param what names the setting in the error message (e.g. "--memory").
 * @throws BuildError USAGE for anything else.
 */
export function parseMemory(text: string | number, what: string): number {
  let bytes: number;
  try {
    bytes = parseSize(text, what);
  } catch (e) {
    if (e instanceof HvError) throw new BuildError('USAGE', e.message, { cause: e });
    throw e;
  }
  if (bytes < MIN_MEMORY || bytes % PAGE_SIZE !== 0) {
    throw new BuildError('USAGE', `${what}: ${JSON.stringify(text)} must be at least ${formatBytes(MIN_MEMORY)} and a whole number of ${PAGE_SIZE}-byte pages`);
  }
  return bytes;
}

/** Formats a byte count for people: "812 B", "3.5 KiB", "64 MiB". */
export const formatBytes = formatSize;
