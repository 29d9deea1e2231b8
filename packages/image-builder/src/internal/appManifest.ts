/**
 * The app side of a build: `<app>` is a folder holding osv-app.json, or a
 * single .ts/.js file. osv-app.json (documented in the package README):
 *
 *   { "name": "hello", "version": "1.0.0", "entry": "src/hello.ts",
 *     "modules": ["kernel"], "files": { "/etc/motd": "motd.txt" },
 *     "cmdline": "/hello.js", "memory": "64M", "cpus": 1 }
 *
 * Only name and entry are required. Unknown fields are refused, so a typo is
 * an error rather than a silently ignored setting.
 */

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { MAX_CPUS } from '@osv-ts/hv/abi';
import { BuildError } from './buildError.js';
import { parseMemory } from './size.js';

/** The manifest file's name inside an app folder. */
export const APP_MANIFEST = 'osv-app.json';
/** Source extensions an entry may have. */
export const ENTRY_EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs', '.jsx'] as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const FIELDS = ['name', 'version', 'entry', 'modules', 'files', 'cmdline', 'memory', 'cpus'] as const;

/** An app ready to bundle. */
export interface AppSpec {
  /** The app folder: entry and file paths are relative to it, and bundle paths too. */
  readonly dir: string;
  readonly name: string;
  readonly version: string;
  /** Absolute path of the entry source. */
  readonly entry: string;
  /** The entry relative to `dir`, with '/' separators (for reports). */
  readonly entryRelative: string;
  /** Where the bundle goes in the root filesystem: "/<entry basename>.js". */
  readonly bundlePath: string;
  /** Modules the manifest asks for, if it names any. */
  readonly modules: readonly string[] | undefined;
  /** Extra root-filesystem content: absolute guest path -> absolute host path (file or folder). */
  readonly files: ReadonlyMap<string, string>;
  readonly cmdline: string | undefined;
  /** Guest memory, bytes. */
  readonly memory: number | undefined;
  readonly cpus: number | undefined;
}

function bad(file: string, message: string): BuildError {
  return new BuildError('BAD_APP', `${file}: ${message}`);
}

function field<T>(obj: Record<string, unknown>, key: string, file: string, check: (v: unknown) => v is T, want: string): T | undefined {
  if (!Object.hasOwn(obj, key)) return undefined;
  const v = obj[key];
  if (!check(v)) throw bad(file, `"${key}" must be ${want} (got ${JSON.stringify(v)})`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isName = (v: unknown): v is string => isString(v) && NAME.test(v);
const isNonEmpty = (v: unknown): v is string => isString(v) && v.length > 0;
const isModuleList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isNonEmpty) && new Set(v).size === v.length;
const isCpus = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_CPUS;
const isFileMap = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.entries(v).every(([k, s]) => k.startsWith('/') && isNonEmpty(s) && !isAbsolute(s));

function entryPath(dir: string, entry: string, file: string): string {
  if (isAbsolute(entry)) throw bad(file, `"entry" must be relative to the app folder (got ${JSON.stringify(entry)})`);
  if (!(ENTRY_EXTENSIONS as readonly string[]).includes(extname(entry))) throw bad(file, `"entry" must be a ${ENTRY_EXTENSIONS.join(', ')} file (got ${JSON.stringify(entry)})`);
  const abs = resolve(dir, entry);
  if (!existsSync(abs) || !statSync(abs).isFile()) throw bad(file, `"entry" ${entry} does not exist in ${dir}`);
  return abs;
}

function defaultVersion(dir: string): string {
  const pj = join(dir, 'package.json');
  if (!existsSync(pj)) return '0.0.0';
  const v = (JSON.parse(readFileSync(pj, 'utf8')) as { version?: unknown }).version;
  return typeof v === 'string' && v.length > 0 ? v : '0.0.0';
}

function bundlePathOf(entry: string): string {
  return `/${basename(entry, extname(entry))}.js`;
}

/**
 * Checks a parsed osv-app.json and resolves it against its folder.
 *
 * @param file the manifest's path, used in messages.
 * @throws BuildError BAD_APP naming the file and the field.
 */
export function parseAppManifest(value: unknown, dir: string, file: string): AppSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(file, 'must hold a JSON object');
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(FIELDS as readonly string[]).includes(key)) throw bad(file, `unknown field "${key}" (known: ${FIELDS.join(', ')})`);
  }
  const name = field(obj, 'name', file, isName, 'a name of letters, digits, ".", "_" or "-" (at most 64)');
  const entry = field(obj, 'entry', file, isNonEmpty, 'a relative path to the entry source');
  if (name === undefined) throw bad(file, 'missing field "name"');
  if (entry === undefined) throw bad(file, 'missing field "entry"');
  const memory = field(obj, 'memory', file, isNonEmpty, 'a size such as "64M"');
  const files = field(obj, 'files', file, isFileMap, 'an object mapping absolute guest paths to relative host paths') ?? {};
  const abs = entryPath(dir, entry, file);
  return {
    dir,
    name,
    version: field(obj, 'version', file, isNonEmpty, 'a non-empty string') ?? defaultVersion(dir),
    entry: abs,
    entryRelative: relative(dir, abs).split(sep).join('/'),
    bundlePath: bundlePathOf(abs),
    modules: field(obj, 'modules', file, isModuleList, 'an array of distinct module names'),
    files: new Map(Object.keys(files).sort().map((k) => [k, resolve(dir, files[k] as string)])),
    cmdline: field(obj, 'cmdline', file, isString, 'a string'),
    memory: memory === undefined ? undefined : memoryOf(memory, file),
    cpus: field(obj, 'cpus', file, isCpus, `an integer from 1 to ${MAX_CPUS}`),
  };
}

function memoryOf(text: string, file: string): number {
  try {
    return parseMemory(text, '"memory"');
  } catch (e) {
    throw bad(file, (e as Error).message);
  }
}

/**
 * Loads the app at `appPath`: a folder with osv-app.json, or one .ts/.js
 * file (named after the file, version 0.0.0, no extra files).
 *
 * @throws BuildError BAD_APP when the path does not exist, the folder has no
 *   osv-app.json, the JSON is malformed or a field is invalid.
 */
export function loadApp(appPath: string): AppSpec {
  const abs = resolve(appPath);
  if (!existsSync(abs)) throw new BuildError('BAD_APP', `app ${appPath} does not exist`);
  if (statSync(abs).isFile()) return singleFileApp(abs, appPath);
  const file = join(abs, APP_MANIFEST);
  const shown = join(appPath, APP_MANIFEST);
  if (!existsSync(file)) throw new BuildError('BAD_APP', `app ${appPath} has no ${APP_MANIFEST} — add one, or give a single .ts/.js file`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new BuildError('BAD_APP', `${shown}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  return parseAppManifest(value, abs, shown);
}

function singleFileApp(abs: string, shown: string): AppSpec {
  if (!(ENTRY_EXTENSIONS as readonly string[]).includes(extname(abs))) {
    throw new BuildError('BAD_APP', `app ${shown} must be a folder with ${APP_MANIFEST} or a ${ENTRY_EXTENSIONS.join(', ')} file`);
  }
  const name = basename(abs, extname(abs));
  if (!NAME.test(name)) throw new BuildError('BAD_APP', `app ${shown}: the file name must make an app name of letters, digits, ".", "_" or "-"`);
  return {
    dir: dirname(abs),
    name,
    version: '0.0.0',
    entry: abs,
    entryRelative: basename(abs),
    bundlePath: bundlePathOf(abs),
    modules: undefined,
    files: new Map(),
    cmdline: undefined,
    memory: undefined,
    cpus: undefined,
  };
}
