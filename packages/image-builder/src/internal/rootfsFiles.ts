/**
 * The root filesystem's content: the app bundle plus the files osv-app.json
 * lists. A listed folder is copied whole. Modes come from the host only as
 * "executable or not" (0o755 / 0o644), so a checkout's umask does not change
 * the image.
 */

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { KernelError } from '@osv-ts/kernel';
import { buildRofs, type RofsFile } from '@osv-ts/kernel/rofs';
import type { AppSpec } from './appManifest.js';
import { BuildError } from './buildError.js';

/** One file placed in the root filesystem, for the report. */
export interface PlacedFile {
  /** Guest path. */
  readonly path: string;
  /** Size, bytes. */
  readonly bytes: number;
  /** Host file it came from, relative to the app folder. */
  readonly source: string;
}

function hostFile(app: AppSpec, guest: string, host: string): RofsFile & { source: string } {
  const st = statSync(host);
  return { path: guest, data: new Uint8Array(readFileSync(host)), mode: st.mode & 0o111 ? 0o755 : 0o644, source: relative(app.dir, host).split('\\').join('/') };
}

function collect(app: AppSpec, guest: string, host: string, out: (RofsFile & { source: string })[]): void {
  if (!statSync(host).isDirectory()) {
    out.push(hostFile(app, guest, host));
    return;
  }
  for (const name of readdirSync(host).sort()) collect(app, `${guest}/${name}`, join(host, name), out);
}

/**
 * Reads the files osv-app.json lists.
 *
 * @throws BuildError BAD_APP when a listed host path does not exist.
 */
export function appFiles(app: AppSpec): (RofsFile & { source: string })[] {
  const out: (RofsFile & { source: string })[] = [];
  for (const [guest, host] of app.files) {
    if (!existsSync(host)) throw new BuildError('BAD_APP', `app ${app.name}: file ${relative(app.dir, host)} (for ${guest}) does not exist`);
    collect(app, guest.replace(/\/+$/, ''), host, out);
  }
  return out;
}

/**
 * Builds the rofs volume from the bundle and the files.
 *
 * @throws BuildError BAD_APP when a guest path is invalid or taken twice
 *   (the bundle's path included), with rofs's reason.
 */
export function buildRootfs(app: AppSpec, bundle: Uint8Array, files: readonly RofsFile[]): Uint8Array {
  try {
    return buildRofs([{ path: app.bundlePath, data: bundle, mode: 0o644 }, ...files]);
  } catch (e) {
    if (e instanceof KernelError) throw new BuildError('BAD_APP', `app ${app.name}: ${e.message}`, { cause: e });
    throw e;
  }
}
