/**
 * Kernel modules: the osv-ts packages that declare `"osv-ts": { "module":
 * NAME, "requires": [...], "devices": [...] }` in their package.json (kernel,
 * sched, mmu, virtio, netchannel, zfs-lite, libc). osv-build links the kernel
 * bundle from a selection of them, closed under `requires`.
 */

import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BuildError } from './buildError.js';
import { builderPackage } from './builderPackage.js';

/** A module package. */
export interface ModuleInfo {
  /** Module name, e.g. "sched". */
  readonly name: string;
  /** npm package name, e.g. "@osv-ts/sched". */
  readonly packageName: string;
  readonly version: string;
  /** Module names this one needs in the same image. */
  readonly requires: readonly string[];
  /** Device kinds the module needs the machine to have (e.g. "net"). */
  readonly devices: readonly string[];
  /** Package folder (real path). */
  readonly dir: string;
  /** The package.json `exports` map, used to resolve its entry points. */
  readonly exports: unknown;
}

/** The modules available to a build, by module name. */
export interface ModuleRegistry {
  readonly modules: ReadonlyMap<string, ModuleInfo>;
  /** The module a package provides, if it is one. */
  byPackage(packageName: string): ModuleInfo | undefined;
}

interface PackageJson {
  name?: unknown;
  version?: unknown;
  exports?: unknown;
  'osv-ts'?: { module?: unknown; requires?: unknown; devices?: unknown };
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string' && x.length > 0);

function readModule(dir: string): ModuleInfo | undefined {
  const file = join(dir, 'package.json');
  let pj: PackageJson;
  try {
    pj = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
  } catch (cause) {
    throw new BuildError('BAD_MODULE', `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  const meta = pj['osv-ts'];
  if (meta === undefined) return undefined;
  const requires = meta.requires ?? [];
  const devices = meta.devices ?? [];
  if (typeof pj.name !== 'string' || typeof pj.version !== 'string' || typeof meta.module !== 'string' || !isStringArray(requires) || !isStringArray(devices)) {
    throw new BuildError('BAD_MODULE', `${file}: "osv-ts" must be { "module": string, "requires"?: string[], "devices"?: string[] } beside a name and version`);
  }
  return { name: meta.module, packageName: pj.name, version: pj.version, requires: [...requires].sort(), devices: [...devices].sort(), dir, exports: pj.exports };
}

/** Folders of the `@osv-ts/*` packages image-builder depends on, resolved as Node would. */
function defaultPackageDirs(): string[] {
  const b = builderPackage();
  const req = createRequire(join(b.dir, 'package.json'));
  return b.dependencies.map((dep) => {
    try {
      return dirname(req.resolve(`${dep}/package.json`));
    } catch (cause) {
      throw new BuildError('BAD_MODULE', `cannot find package ${dep} (an osv-build dependency) — reinstall osv-build`, { cause });
    }
  });
}

/**
 * Reads the module packages in `packageDirs` (default: the `@osv-ts/*`
 * packages osv-build depends on). Packages without an "osv-ts" field are
 * skipped.
 *
 * @throws BuildError BAD_MODULE for an unreadable or malformed package.json or
 *   two packages claiming one module name.
 */
export function loadModuleRegistry(packageDirs?: readonly string[]): ModuleRegistry {
  const modules = new Map<string, ModuleInfo>();
  const packages = new Map<string, ModuleInfo>();
  for (const dir of packageDirs ?? defaultPackageDirs()) {
    const m = readModule(realpathSync(dir));
    if (m === undefined) continue;
    const other = modules.get(m.name);
    if (other !== undefined) throw new BuildError('BAD_MODULE', `packages ${other.packageName} and ${m.packageName} both provide module '${m.name}'`);
    modules.set(m.name, m);
    packages.set(m.packageName, m);
  }
  const sorted = new Map([...modules].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { modules: sorted, byPackage: (name) => packages.get(name) };
}

/** "kernel, libc, mmu, ..." — for error messages. */
export function knownModules(registry: ModuleRegistry): string {
  return [...registry.modules.keys()].join(', ');
}

/**
 * The modules to link: `requested` plus `kernel`, closed under `requires`,
 * sorted by name.
 *
 * @param source says where `requested` came from, for messages ("--modules").
 * @throws BuildError UNKNOWN_MODULE naming the module and listing the known
 *   ones; BAD_MODULE when a module requires one that does not exist.
 */
export function selectModules(registry: ModuleRegistry, requested: readonly string[], source: string): ModuleInfo[] {
  if (!registry.modules.has('kernel')) throw new BuildError('BAD_MODULE', 'no package provides the kernel module');
  for (const name of requested) {
    if (!registry.modules.has(name)) {
      throw new BuildError('UNKNOWN_MODULE', `unknown module '${name}' in ${source} — known modules: ${knownModules(registry)}`);
    }
  }
  const chosen = new Map<string, ModuleInfo>();
  const queue = ['kernel', ...requested];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    const m = registry.modules.get(name) as ModuleInfo;
    if (chosen.has(name)) continue;
    chosen.set(name, m);
    for (const dep of m.requires) {
      if (!registry.modules.has(dep)) throw new BuildError('BAD_MODULE', `module '${name}' (${m.packageName}) requires unknown module '${dep}'`);
      queue.push(dep);
    }
  }
  return [...chosen.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
