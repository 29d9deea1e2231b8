/**
 * Resolution of module packages for esbuild: `@osv-ts/<pkg>[/sub]` imports of
 * a package in the module registry resolve through that package's `exports`
 * map with osv-build's conditions, so a registry can point at any folders
 * (installed packages, the workspace, test fixtures) without node_modules.
 * Imports of other packages fall through to esbuild's own resolver.
 */

import { join } from 'node:path';
import type { Plugin } from 'esbuild';
import type { ModuleInfo, ModuleRegistry } from './moduleRegistry.js';

/** Splits "@osv-ts/kernel/rofs" into its package ("@osv-ts/kernel") and subpath ("./rofs"). */
export function splitSpecifier(specifier: string): { packageName: string; subpath: string } | undefined {
  const m = /^(@osv-ts\/[^/]+)(\/.+)?$/.exec(specifier);
  if (m === null) return undefined;
  return { packageName: m[1] as string, subpath: m[2] === undefined ? '.' : `.${m[2]}` };
}

function pick(target: unknown, conditions: readonly string[]): string | null | undefined {
  if (typeof target === 'string' || target === null) return target;
  if (typeof target !== 'object' || Array.isArray(target)) return undefined;
  for (const [key, value] of Object.entries(target as Record<string, unknown>)) {
    if (!conditions.includes(key)) continue;
    const found = pick(value, conditions);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The file a package exports at `subpath` under `conditions` (tried in the
 * map's own key order, as Node does), or undefined when it exports nothing
 * there. Handles plain and conditional entries; subpath patterns are not used
 * by osv-ts packages and resolve to nothing.
 */
export function resolveExport(m: ModuleInfo, subpath: string, conditions: readonly string[]): string | undefined {
  const exp = m.exports;
  const entry = typeof exp === 'string' || (typeof exp === 'object' && exp !== null && !Object.keys(exp).some((k) => k.startsWith('.')))
    ? subpath === '.' ? exp : undefined
    : (exp as Record<string, unknown> | undefined)?.[subpath];
  const file = pick(entry, conditions);
  return typeof file === 'string' ? join(m.dir, file) : undefined;
}

/** An esbuild plugin resolving registry packages through their exports maps. */
export function moduleResolverPlugin(registry: ModuleRegistry, conditions: readonly string[]): Plugin {
  return {
    name: 'osv-ts-modules',
    setup(build) {
      build.onResolve({ filter: /^@osv-ts\// }, (args) => {
        const spec = splitSpecifier(args.path);
        const m = spec === undefined ? undefined : registry.byPackage(spec.packageName);
        if (spec === undefined || m === undefined) return undefined;
        const file = resolveExport(m, spec.subpath, conditions);
        if (file === undefined) return { errors: [{ text: `package ${m.packageName} (module '${m.name}') does not export '${spec.subpath}'` }] };
        return { path: file };
      });
    },
  };
}
