/** The account osv-build prints of what went into an image. */

import type { BuildResult } from './buildImage.js';
import { formatBytes } from './size.js';

/**
 * Formats what an image holds, one fact per line: the app, the linked modules
 * with versions and their share of the kernel bundle, what the app links
 * against, the files, the command line, the machine it needs, and the image
 * size with each section's size.
 *
 * @param output the image file's name, shown in the first line.
 */
export function formatReport(result: BuildResult, output: string): string {
  const { app, manifest } = result;
  const req = manifest.requires;
  const lines = [
    `osv-build: ${app.name} ${app.version} -> ${output}`,
    `  app       ${app.entry} -> ${app.path} (${formatBytes(app.bytes)})`,
    `  modules   ${result.modules.map((m) => `${m.name} ${m.version} (${formatBytes(m.bytes)})`).join(', ')}`,
    `  links     ${result.links.length > 0 ? result.links.join(', ') : 'none'}`,
  ];
  if (result.files.length === 0) lines.push('  files     none');
  result.files.forEach((f, i) => lines.push(`  ${i === 0 ? 'files   ' : '        '}  ${f.path} (${formatBytes(f.bytes)}, from ${f.source})`));
  lines.push(
    `  cmdline   ${result.cmdline}`,
    `  requires  ${formatBytes(req.memory)}, ${req.cpus} vCPU${req.cpus === 1 ? '' : 's'}, devices: ${req.devices.length > 0 ? req.devices.join(', ') : 'none'}`,
    `  image     ${formatBytes(result.image.length)}: ${result.sections.map((s) => `${s.name} ${formatBytes(s.bytes)}`).join(', ')}`,
  );
  return `${lines.join('\n')}\n`;
}
