/**
 * osv-build's pipeline: load the app, select the modules, bundle the app and
 * then the kernel (which must link what the app imports), build the root
 * filesystem, check the command line against it, write and re-verify the
 * image. The same inputs give the same bytes.
 */

import { CMDLINE_MAX, MAX_CPUS } from '@osv-ts/hv/abi';
import { readImage, writeImage, type ImageManifest } from '@osv-ts/hv/image';
import { KernelError, parseCommandLine } from '@osv-ts/kernel';
import { RofsVolume, encodeUtf8, utf8ByteLength } from '@osv-ts/kernel/rofs';
import { APP_MANIFEST, loadApp, type AppSpec } from './appManifest.js';
import { bundleApp } from './appBundle.js';
import { BuildError } from './buildError.js';
import { builderPackage } from './builderPackage.js';
import { contextBuiltins } from './builtins.js';
import { bundleKernel } from './kernelBundle.js';
import { splitSpecifier } from './moduleResolver.js';
import { loadModuleRegistry, selectModules, type ModuleInfo } from './moduleRegistry.js';
import { appFiles, buildRootfs, type PlacedFile } from './rootfsFiles.js';
import { parseMemory } from './size.js';

/** Guest memory when neither the options nor osv-app.json say, bytes. */
export const DEFAULT_MEMORY = 64 * 1024 * 1024;

/** What to build. */
export interface BuildOptions {
  /** The app: a folder holding osv-app.json, or a single .ts/.js file. */
  readonly app: string;
  /** Modules to link (replacing osv-app.json's list); `kernel` is always added. */
  readonly modules?: readonly string[];
  /** The default command line (replacing osv-app.json's). */
  readonly cmdline?: string;
  /** Guest memory: bytes, or a size such as "64M" (replacing osv-app.json's). */
  readonly memory?: number | string;
  /** vCPUs, 1..MAX_CPUS (replacing osv-app.json's). */
  readonly cpus?: number;
  /**
   * Folders of the module packages to link from, instead of osv-build's own
   * `@osv-ts/*` dependencies: for custom kernels and tests.
   */
  readonly modulePackages?: readonly string[];
}

/** A linked module, as the report shows it. */
export interface LinkedModule {
  readonly name: string;
  readonly package: string;
  readonly version: string;
  /** Bytes of its code in the kernel bundle. */
  readonly bytes: number;
}

/** An image and an account of what went into it. */
export interface BuildResult {
  /** The image file's bytes. */
  readonly image: Uint8Array;
  /** Its manifest. */
  readonly manifest: ImageManifest;
  /** Its default command line. */
  readonly cmdline: string;
  /** The app: name, version, entry source (relative to its folder), guest path and size of its bundle. */
  readonly app: { readonly name: string; readonly version: string; readonly entry: string; readonly path: string; readonly bytes: number };
  /** Linked modules, sorted by name. */
  readonly modules: readonly LinkedModule[];
  /** The app's extra files in the root filesystem. */
  readonly files: readonly PlacedFile[];
  /** Import specifiers the app links against at load time (`@osv-ts/*`, then `node:*`). */
  readonly links: readonly string[];
  /** Each section's name and size in bytes, in file order. */
  readonly sections: readonly { readonly name: string; readonly bytes: number }[];
}

function settings(options: BuildOptions, app: AppSpec): { memory: number; cpus: number } {
  const memory = options.memory !== undefined ? parseMemory(options.memory, 'memory') : (app.memory ?? DEFAULT_MEMORY);
  const cpus = options.cpus ?? app.cpus ?? 1;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS) throw new BuildError('USAGE', `cpus: ${cpus} must be an integer from 1 to ${MAX_CPUS}`);
  return { memory, cpus };
}

/** Checks that the command line parses as the kernel will parse it and names a file in the root filesystem. */
function checkCmdline(cmdline: string, rootfs: Uint8Array, from: string): void {
  const code = from === '--cmdline' ? 'USAGE' : 'BAD_APP';
  if (utf8ByteLength(cmdline) > CMDLINE_MAX) throw new BuildError('TOO_LARGE', `${from}: the command line is ${utf8ByteLength(cmdline)} bytes; at most ${CMDLINE_MAX} fit`);
  let program: string;
  try {
    program = parseCommandLine(cmdline).program;
  } catch (e) {
    if (e instanceof KernelError) throw new BuildError(code, `${from}: ${e.message}`, { cause: e });
    throw e;
  }
  let isFile = false;
  try {
    isFile = RofsVolume.mount(rootfs).stat(program).type === 'file';
  } catch (e) {
    if (!(e instanceof KernelError)) throw e;
  }
  if (!isFile) throw new BuildError(code, `${from}: the command line runs ${program}, which is not a file in the image's root filesystem`);
}

function manifestOf(app: AppSpec, selected: readonly ModuleInfo[], memory: number, cpus: number): Omit<ImageManifest, 'builder'> {
  return {
    format: 1,
    app: { name: app.name, version: app.version, entry: app.bundlePath },
    modules: selected.map((m) => ({ name: m.name, package: m.packageName, version: m.version })),
    requires: { devices: [...new Set(selected.flatMap((m) => m.devices))].sort(), memory, cpus },
  };
}

/**
 * Builds an image: the kernel bundle with the selected modules, a rofs root
 * holding the app bundle and its files, the default command line and the
 * manifest. Byte-identical for identical inputs.
 *
 * @throws BuildError — USAGE for a malformed option, BAD_APP for a missing or
 *   invalid app, UNKNOWN_MODULE / MODULE_NOT_SELECTED / BAD_MODULE for module
 *   problems, BUNDLE_FAILED when esbuild fails, TOO_LARGE when the command
 *   line or volume cannot fit.
 */
export async function buildImage(options: BuildOptions): Promise<BuildResult> {
  const app = loadApp(options.app);
  const { memory, cpus } = settings(options, app);
  const registry = loadModuleRegistry(options.modulePackages);
  const selected = options.modules !== undefined
    ? selectModules(registry, options.modules, '--modules')
    : selectModules(registry, app.modules ?? [], `${options.app}/${APP_MANIFEST}`);
  const builtins = contextBuiltins();
  const appBundle = await bundleApp(app, selected, registry, builtins);
  const b = builderPackage();
  const kernel = await bundleKernel({
    selected,
    registry,
    extraLinks: appBundle.links.filter((s) => splitSpecifier(s)?.subpath !== '.'),
    root: b.bundleRoot,
    fromSource: b.inWorkspace,
    builtins,
  });
  const files = appFiles(app);
  const bundle = encodeUtf8(appBundle.code);
  const rootfs = buildRootfs(app, bundle, files);
  const cmdline = options.cmdline ?? app.cmdline ?? app.bundlePath;
  checkCmdline(cmdline, rootfs, options.cmdline !== undefined ? '--cmdline' : app.cmdline !== undefined ? `${options.app}/${APP_MANIFEST} "cmdline"` : 'the default command line');
  const image = writeImage({ kernel: kernel.code, rootfs, cmdline, manifest: manifestOf(app, selected, memory, cpus) }, { name: b.name, version: b.version });
  const parsed = readImage(image, app.name);
  return {
    image,
    manifest: parsed.manifest,
    cmdline,
    app: { name: app.name, version: app.version, entry: app.entryRelative, path: app.bundlePath, bytes: bundle.length },
    modules: selected.map((m) => ({ name: m.name, package: m.packageName, version: m.version, bytes: kernel.moduleBytes.get(m.name) ?? 0 })),
    files: files.map((f) => ({ path: f.path, bytes: f.data.length, source: f.source })),
    links: [...appBundle.links, ...appBundle.nodeImports],
    sections: parsed.sectionTable.map((s) => ({ name: s.name, bytes: s.bytes.length })),
  };
}
