/**
 * The kernel bundle: the kernel and the selected modules, tree-shaken into one
 * script the hv evaluates in each vCPU's realm. esbuild bundles a generated
 * entry that imports `start` from the kernel's boot entry and every selected
 * module as a namespace, and defines the global the hv calls:
 *
 *   import { start } from '@osv-ts/kernel/boot';
 *   import * as m0 from '@osv-ts/kernel';
 *   import * as m1 from '@osv-ts/sched';
 *   globalThis.__osvKernelStart = (hw) => start(hw, Object.freeze({ '@osv-ts/kernel': m0, '@osv-ts/sched': m1 }));
 *
 * The record is what the kernel's program loader links apps against, keyed
 * by import specifier; subpaths an app imports ('@osv-ts/kernel/rofs') get
 * their own entries. Unselected modules are never imported, so they are not
 * in the bundle (except code of theirs that a selected module itself imports).
 */

import { relative, resolve } from 'node:path';
import { KERNEL_ENTRY_GLOBAL } from '@osv-ts/hv/abi';
import { build, type Metafile } from 'esbuild';
import { BuildError } from './buildError.js';
import { wrapWithBuiltins } from './builtins.js';
import { bundleFailure } from './esbuildErrors.js';
import { moduleResolverPlugin } from './moduleResolver.js';
import type { ModuleInfo, ModuleRegistry } from './moduleRegistry.js';

/** The kernel's entry point module; it must export `start(hw, modules)`. */
export const KERNEL_BOOT_ENTRY = '@osv-ts/kernel/boot';
/** The generated entry's name in bundle comments and messages. */
const ENTRY_NAME = 'osv-kernel-entry.js';

/** A built kernel bundle. */
export interface KernelBundle {
  /** The wrapped bundle source. */
  readonly code: string;
  /** Bytes each selected module contributes to the bundle (before wrapping), by module name. */
  readonly moduleBytes: ReadonlyMap<string, number>;
}

/** How to bundle the kernel. */
export interface KernelBundleOptions {
  readonly selected: readonly ModuleInfo[];
  readonly registry: ModuleRegistry;
  /** Specifiers to link besides the selected modules' roots (subpaths an app imports). */
  readonly extraLinks: readonly string[];
  /** Folder bundle paths are relative to. */
  readonly root: string;
  /** Resolve through the `@osv-ts/source` condition (inside the workspace). */
  readonly fromSource: boolean;
  readonly builtins: readonly string[];
}

/** Source of the generated entry. */
export function kernelEntrySource(specifiers: readonly string[]): string {
  const imports = specifiers.map((s, i) => `import * as m${i} from ${JSON.stringify(s)};`);
  const record = specifiers.map((s, i) => `  ${JSON.stringify(s)}: m${i},`);
  return [
    `import { start } from ${JSON.stringify(KERNEL_BOOT_ENTRY)};`,
    ...imports,
    '',
    `globalThis.${KERNEL_ENTRY_GLOBAL} = (hw) =>`,
    '  start(hw, Object.freeze({',
    ...record.map((line) => `  ${line}`),
    '  }));',
    '',
  ].join('\n');
}

function bytesByModule(meta: Metafile, o: KernelBundleOptions): Map<string, number> {
  const out = new Map(o.selected.map((m) => [m.name, 0]));
  const output = Object.values(meta.outputs)[0];
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const owner = o.selected.find((m) => !relative(m.dir, resolve(o.root, input)).startsWith('..'));
    if (owner !== undefined) out.set(owner.name, (out.get(owner.name) ?? 0) + bytesInOutput);
  }
  return out;
}

/**
 * Bundles the kernel with the selected modules (IIFE, platform neutral,
 * ES2022, tree-shaken, not minified, paths relative to `root`).
 *
 * @throws BuildError BUNDLE_FAILED when esbuild fails (for instance when the
 *   kernel's boot entry does not export `start`).
 */
export async function bundleKernel(o: KernelBundleOptions): Promise<KernelBundle> {
  const specifiers = [...new Set([...o.selected.map((m) => m.packageName), ...o.extraLinks])].sort();
  const conditions = [...(o.fromSource ? ['@osv-ts/source'] : []), 'import', 'module', 'default'];
  let result;
  try {
    result = await build({
      stdin: { contents: kernelEntrySource(specifiers), resolveDir: o.root, sourcefile: ENTRY_NAME, loader: 'js' },
      absWorkingDir: o.root,
      bundle: true,
      format: 'iife',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['module', 'main'],
      conditions: o.fromSource ? ['@osv-ts/source'] : [],
      plugins: [moduleResolverPlugin(o.registry, conditions)],
      minify: false,
      treeShaking: true,
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
  } catch (e) {
    bundleFailure('kernel bundle', e);
  }
  const out = result.outputFiles[0];
  if (out === undefined) throw new BuildError('BUNDLE_FAILED', 'kernel bundle: esbuild produced no output');
  return { code: wrapWithBuiltins(out.text, o.builtins), moduleBytes: bytesByModule(result.metafile, o) };
}
