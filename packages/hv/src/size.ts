import { HvError } from './errors.js';

const UNITS: Readonly<Record<string, number>> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/**
 * Parses a QEMU-style size: a whole number of bytes, or a number with a K, M, G
 * or T suffix (binary multiples; an optional trailing "B" or "iB" is accepted:
 * "512M", "1G", "64MiB"). Throws HvError BAD_OPTION naming `what` otherwise.
 */
export function parseSize(text: string | number, what: string): number {
  if (typeof text === 'number') {
    if (Number.isSafeInteger(text) && text > 0) return text;
    throw new HvError('BAD_OPTION', `${what}: ${text} is not a positive whole number of bytes`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
  const unit = m ? UNITS[(m[2] ?? '').toUpperCase()] : undefined;
  if (!m || unit === undefined) {
    throw new HvError('BAD_OPTION', `${what}: '${text}' is not a size (write it like 512M, 1G or 67108864)`);
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new HvError('BAD_OPTION', `${what}: '${text}' is out of range`);
  }
  return bytes;
}

/** Formats a byte count for people: "64 MiB", "3.5 KiB", "812 B". */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}
