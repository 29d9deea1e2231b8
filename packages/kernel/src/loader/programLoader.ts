/**
 * The program loader, after OSv's ELF loader: reads the program named on the
 * command line from the root filesystem and links it against the running
 * kernel. An app bundle leaves its `@osv-ts/*` imports external; `require`
 * here resolves them to the modules already in the kernel bundle, so the app
 * shares the kernel's one scheduler, allocator and socket table.
 *
 * Bundle contract (image-builder writes it): the file is the body of
 * `function (module, exports, require, console)`; afterwards
 * `module.exports.main ?? module.exports.default` is the entry point, called
 * as `main(argv, env)` and returning (a promise of) an exit code or nothing.
 */
import { KernelError } from '../errors.js';
import { decodeUtf8 } from '../fs/utf8.js';
import type { Vfs } from '../fs/vfs.js';

/** The entry point of a loaded program. */
export type ProgramMain = (argv: string[], env: Record<string, string>) => unknown;

/** A program linked and ready to run. */
export interface LoadedProgram {
  readonly path: string;
  readonly main: ProgramMain;
  /** Module names the program required while loading. */
  readonly imports: readonly string[];
  /** The program's exports (what `spawnOn` runs by name). */
  readonly exports: Readonly<Record<string, unknown>>;
}

/**
 * Loads `path` and links it against `modules` (package name -> module
 * namespace). Throws KernelError: ENOENT/EISDIR from the filesystem, ENOEXEC
 * when the file does not compile or exports no main, LINK_ERROR when it
 * requires a module the image does not carry.
 */
export function loadProgram(
  vfs: Vfs,
  path: string,
  modules: Readonly<Record<string, object>>,
  guestConsole: object,
): LoadedProgram {
  const source = decodeUtf8(vfs.readFile(path));
  let body: (module: { exports: Record<string, unknown> }, exports: object, require: (name: string) => object, console: object) => void;
  try {
    // sourceURL names the program in stack traces ("at main (/hello.js:12:9)").
    body = new Function('module', 'exports', 'require', 'console', `${source}\n//# sourceURL=${path}`) as typeof body;
  } catch (e) {
    throw new KernelError('ENOEXEC', `${path}: not a loadable program (${(e as Error).message})`, { path, cause: e });
  }
  const imports: string[] = [];
  const require = (name: string): object => {
    const m = modules[name];
    if (!m) {
      const carried = Object.keys(modules).sort().join(', ');
      throw new KernelError('LINK_ERROR', `${path} requires ${name}, which this image's kernel does not carry (it has: ${carried}) — rebuild with that module`, { path });
    }
    imports.push(name);
    return m;
  };
  const module = { exports: {} as Record<string, unknown> };
  body(module, module.exports, require, guestConsole);
  const main = module.exports['main'] ?? module.exports['default'];
  if (typeof main !== 'function') {
    throw new KernelError('ENOEXEC', `${path}: exports no main(argv, env) function`, { path });
  }
  return { path, main: main as ProgramMain, imports, exports: module.exports };
}

/** Turns what main returned into an exit code (undefined -> 0, numbers masked to 0..255 as by exit(2)). */
export function exitCodeOf(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isInteger(value)) return value & 0xff;
  if (typeof value === 'boolean') return value ? 0 : 1;
  return 0;
}
