/**
 * The app bundle, linked dynamically against the kernel as OSv's ELF loader
 * links a program against the kernel's libc: esbuild bundles the app and its
 * npm dependencies as CommonJS, leaving every `@osv-ts/*` import (and every
 * Node built-in, as `node:*`) external for the kernel's loader to resolve.
 *
 * Loader contract (packages/kernel/src/loader/programLoader.ts): the file is
 * the body of `new Function('module', 'exports', 'require', 'console', src)`;
 * then `module.exports.main ?? module.exports.default` is called with
 * `(argv: string[], env: Record<string, string>)`.
 */

import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import type { AppSpec } from './appManifest.js';
import { BuildError } from './buildError.js';
import { wrapWithBuiltins } from './builtins.js';
import { bundleFailure } from './esbuildErrors.js';
import { splitSpecifier } from './moduleResolver.js';
import { knownModules, type ModuleInfo, type ModuleRegistry } from './moduleRegistry.js';

/** The module that provides Node compatibility (`node:*` imports). */
export const NODE_COMPAT_MODULE = 'libc';

/** A built app bundle. */
export interface AppBundle {
  /** The wrapped bundle source. */
  readonly code: string;
  /** `@osv-ts/*` specifiers the app imports (the kernel must carry each), sorted. */
  readonly links: readonly string[];
  /** `node:*` specifiers the app imports, sorted. */
  readonly nodeImports: readonly string[];
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const bareBuiltin = new RegExp(`^(${builtinModules.filter((m) => !m.startsWith('node:')).map(escape).join('|')})$`);

/** Marks bare Node built-in imports ("fs") external as "node:fs", so they are checked and linked as one kind. */
const nodeBuiltinsPlugin: Plugin = {
  name: 'osv-ts-node-builtins',
  setup(b) {
    b.onResolve({ filter: bareBuiltin }, (args) => ({ path: `node:${args.path}`, external: true }));
  },
};

function externalImports(meta: Metafile): string[] {
  const found = new Set<string>();
  for (const input of Object.values(meta.inputs)) for (const imp of input.imports) if (imp.external === true) found.add(imp.path);
  return [...found].sort();
}

/** Checks each external import against the selection; returns the @osv-ts and node: lists. */
function checkLinks(app: AppSpec, imports: readonly string[], selected: readonly ModuleInfo[], registry: ModuleRegistry) {
  const chosen = new Set(selected.map((m) => m.name));
  const links: string[] = [];
  const nodeImports: string[] = [];
  for (const spec of imports) {
    if (spec.startsWith('node:')) {
      if (!chosen.has(NODE_COMPAT_MODULE)) {
        throw new BuildError('MODULE_NOT_SELECTED', `app ${app.name} imports ${spec}, which needs module '${NODE_COMPAT_MODULE}' (Node compat), not selected — add it to --modules or to osv-app.json`);
      }
      nodeImports.push(spec);
      continue;
    }
    const m = registry.byPackage(splitSpecifier(spec)?.packageName ?? spec);
    if (m === undefined) {
      throw new BuildError('UNKNOWN_MODULE', `app ${app.name} imports ${spec}, which is not a kernel module — known modules: ${knownModules(registry)}`);
    }
    if (!chosen.has(m.name)) {
      throw new BuildError('MODULE_NOT_SELECTED', `app ${app.name} imports ${spec} (module '${m.name}'), which is not selected — add it to --modules or to osv-app.json`);
    }
    links.push(spec);
  }
  return { links, nodeImports };
}

/**
 * Bundles the app (CommonJS, platform neutral, ES2022, not minified) and
 * checks that every module it imports is selected. TypeScript settings come
 * from a tsconfig.json in the app folder, if there is one.
 *
 * @throws BuildError BUNDLE_FAILED when esbuild fails; MODULE_NOT_SELECTED
 *   naming the import and its module; UNKNOWN_MODULE for an `@osv-ts/*`
 *   package that is no kernel module.
 */
export async function bundleApp(app: AppSpec, selected: readonly ModuleInfo[], registry: ModuleRegistry, builtins: readonly string[]): Promise<AppBundle> {
  let result;
  try {
    result = await build({
      entryPoints: [app.entry],
      absWorkingDir: app.dir,
      bundle: true,
      format: 'cjs',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['module', 'main'],
      external: ['@osv-ts/*', 'node:*'],
      plugins: [nodeBuiltinsPlugin],
      // Only the app folder's own tsconfig.json counts, never one found above
      // it, so moving the folder does not change the bundle.
      ...(existsSync(join(app.dir, 'tsconfig.json')) ? { tsconfig: join(app.dir, 'tsconfig.json') } : { tsconfigRaw: {} }),
      minify: false,
      treeShaking: true,
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
  } catch (e) {
    bundleFailure(`app ${app.name}`, e);
  }
  const { links, nodeImports } = checkLinks(app, externalImports(result.metafile), selected, registry);
  const out = result.outputFiles[0];
  if (out === undefined) throw new BuildError('BUNDLE_FAILED', `app ${app.name}: esbuild produced no output`);
  return { code: wrapWithBuiltins(out.text, builtins), links, nodeImports };
}
