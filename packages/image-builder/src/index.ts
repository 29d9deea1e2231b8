/**
 * @osv-ts/image-builder — osv-build as a library: link the kernel, the
 * selected modules and one application into an osv-ts image.
 *
 *   const result = await buildImage({ app: 'examples/hello' });
 *   await writeImageFile('hello.img', result.image);
 *   process.stdout.write(formatReport(result, 'hello.img'));
 */

export { buildImage, DEFAULT_MEMORY } from './internal/buildImage.js';
export type { BuildOptions, BuildResult, LinkedModule } from './internal/buildImage.js';
export { writeImageFile } from './internal/imageFile.js';
export { formatReport } from './internal/report.js';
export type { PlacedFile } from './internal/rootfsFiles.js';
export { BuildError, BUILD_ERROR_CODES } from './internal/buildError.js';
export type { BuildErrorCode } from './internal/buildError.js';
export { loadApp, parseAppManifest, APP_MANIFEST, ENTRY_EXTENSIONS } from './internal/appManifest.js';
export type { AppSpec } from './internal/appManifest.js';
export { loadModuleRegistry, selectModules } from './internal/moduleRegistry.js';
export type { ModuleInfo, ModuleRegistry } from './internal/moduleRegistry.js';
export { contextBuiltins, wrapWithBuiltins } from './internal/builtins.js';
export { kernelEntrySource, KERNEL_BOOT_ENTRY } from './internal/kernelBundle.js';
export { NODE_COMPAT_MODULE } from './internal/appBundle.js';
export { parseMemory } from './internal/size.js';
export { runCli, USAGE, EXIT_OK, EXIT_BUILD_ERROR, EXIT_USAGE } from './internal/cliMain.js';
export type { CliIo } from './internal/cliMain.js';
