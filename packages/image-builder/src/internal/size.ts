/** Sizes as people write them ("64M") and as reports print them ("64 MiB"). */

import { MIN_MEMORY, PAGE_SIZE } from '@osv-ts/hv/abi';
import { BuildError } from './buildError.js';

const UNITS: Readonly<Record<string, number>> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/**
 * Parses a guest memory size the way osv-run does: whole bytes, or a number
 * with a K, M, G or T suffix (binary multiples, optional "B" or "iB"). The
 * result must be at least MIN_MEMORY and a multiple of PAGE_SIZE.
 *
 * @param what names the setting in the error message (e.g. "--memory").
 * @throws BuildError USAGE for anything else.
 */
export function parseMemory(text: string | number, what: string): number {
  let bytes: number;
  if (typeof text === 'number') {
    bytes = text;
  } else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
    const unit = m ? UNITS[(m[2] ?? '').toUpperCase()] : undefined;
    if (!m || unit === undefined) throw new BuildError('USAGE', `${what}: '${text}' is not a size (write it like 64M, 1G or 67108864)`);
    bytes = Math.floor(Number(m[1]) * unit);
  }
  if (!Number.isSafeInteger(bytes) || bytes < MIN_MEMORY || bytes % PAGE_SIZE !== 0) {
    throw new BuildError('USAGE', `${what}: ${JSON.stringify(text)} must be at least ${formatBytes(MIN_MEMORY)} and a whole number of ${PAGE_SIZE}-byte pages`);
  }
  return bytes;
}

/** Formats a byte count for people: "812 B", "3.5 KiB", "64 MiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}
