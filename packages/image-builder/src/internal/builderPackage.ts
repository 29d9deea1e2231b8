/**
 * Where osv-build itself lives, and what follows from it: its name and version
 * (recorded in every image), the module packages it depends on, and whether
 * it runs inside the osv-ts workspace (then it bundles sources through the
 * `@osv-ts/source` export condition) or from an installed copy (then dist/).
 */

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Facts about the running image-builder package. */
export interface BuilderPackage {
  /** Its folder (holding package.json). */
  readonly dir: string;
  readonly name: string;
  readonly version: string;
  /** `@osv-ts/*` packages it depends on: the candidate module packages. */
  readonly dependencies: readonly string[];
  /** True inside the workspace (src/ beside package.json): bundle from sources. */
  readonly inWorkspace: boolean;
  /**
   * The folder bundle paths are made relative to (esbuild's absWorkingDir):
   * the workspace root inside the workspace, else the package folder. Fixed,
   * so the same inputs give the same bundle wherever the tree is checked out.
   */
  readonly bundleRoot: string;
}

let cached: BuilderPackage | undefined;

function findPackageDir(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === '@osv-ts/image-builder') return dir;
    if (dirname(dir) === dir) throw new Error(`osv-build: cannot find its own package.json above ${from}`);
  }
}

/** Describes the running image-builder package (read once). */
export function builderPackage(): BuilderPackage {
  if (cached !== undefined) return cached;
  const dir = findPackageDir(dirname(fileURLToPath(import.meta.url)));
  const pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; dependencies?: Record<string, string> };
  const inWorkspace = existsSync(join(dir, 'src', 'index.ts'));
  const root = resolve(dir, '../..');
  cached = {
    dir,
    name: pj.name,
    version: pj.version,
    dependencies: Object.keys(pj.dependencies ?? {}).filter((d) => d.startsWith('@osv-ts/')).sort(),
    inWorkspace,
    bundleRoot: inWorkspace && existsSync(join(root, 'pnpm-workspace.yaml')) ? root : dir,
  };
  return cached;
}
