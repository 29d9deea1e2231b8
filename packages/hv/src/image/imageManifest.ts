/**
 * The `manifest` section: what an image holds and what it needs, as UTF-8 JSON
 * with object keys in canonical (sorted) order so equal manifests are equal
 * bytes. Format 1 is closed: unknown keys are refused, so a reader never
 * silently ignores a requirement it does not understand.
 */

import { MAX_CPUS, MIN_MEMORY, PAGE_SIZE } from '../abi.js';

/** The manifest of an image, format 1. */
export interface ImageManifest {
  /** Manifest format version. */
  format: 1;
  /** The application: its name, version and the root-filesystem path of its bundle. */
  app: { name: string; version: string; entry: string };
  /** The kernel modules linked in: module name, npm package, package version; sorted by name. */
  modules: { name: string; package: string; version: string }[];
  /** What the machine must provide: device kinds, guest memory in bytes, vCPUs. */
  requires: { devices: string[]; memory: number; cpus: number };
  /** The tool that built the image (the same as the header's builder fields). */
  builder: { name: string; version: string };
}

type Check = (value: unknown, where: string) => string | undefined;

const nonEmptyString: Check = (v, where) =>
  typeof v === 'string' && v.length > 0 ? undefined : `${where} must be a non-empty string`;

function object(shape: Record<string, Check>): Check {
  return (v, where) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${where || 'manifest'} must be an object`;
    const prefix = where ? `${where}.` : '';
    for (const key of Object.keys(v)) {
      if (!Object.hasOwn(shape, key)) return `unknown key ${prefix}${key}`;
    }
    for (const [key, check] of Object.entries(shape)) {
      if (!Object.hasOwn(v, key)) return `missing ${prefix}${key}`;
      const problem = check((v as Record<string, unknown>)[key], prefix + key);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
}

function arrayOf(item: Check): Check {
  return (v, where) => {
    if (!Array.isArray(v)) return `${where} must be an array`;
    for (let i = 0; i < v.length; i++) {
      const problem = item(v[i], `${where}[${i}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
}

function integerIn(min: number, max: number, extra?: (n: number) => string | undefined): Check {
  return (v, where) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      return `${where} must be an integer from ${min} to ${max}`;
    }
    const problem = extra?.(v);
    return problem === undefined ? undefined : `${where} ${problem}`;
  };
}

const checkManifestShape = object({
  format: (v, where) => (v === 1 ? undefined : `${where} must be 1 (this reader knows manifest format 1)`),
  app: object({ name: nonEmptyString, version: nonEmptyString, entry: nonEmptyString }),
  modules: arrayOf(object({ name: nonEmptyString, package: nonEmptyString, version: nonEmptyString })),
  requires: object({
    devices: arrayOf(nonEmptyString),
    memory: integerIn(MIN_MEMORY, Number.MAX_SAFE_INTEGER, (n) =>
      n % PAGE_SIZE === 0 ? undefined : `must be a multiple of ${PAGE_SIZE}`,
    ),
    cpus: integerIn(1, MAX_CPUS),
  }),
  builder: object({ name: nonEmptyString, version: nonEmptyString }),
});

/**
 * Checks that `value` has exactly the ImageManifest shape. Returns a sentence
 * naming the first problem (with the field's dotted path), or undefined when
 * the value is a valid manifest.
 */
export function manifestProblem(value: unknown): string | undefined {
  return checkManifestShape(value, '');
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}

/**
 * Serialises a JSON value canonically: object keys sorted by UTF-16 code unit,
 * two-space indentation, a final newline. Used for the manifest section so the
 * same manifest always gives the same bytes.
 */
export function canonicalJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}
