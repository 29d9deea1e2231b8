/** Writing an image file. */

import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BuildError } from './buildError.js';

/**
 * Writes `image` to `path`, creating its folder. The bytes go to a temporary
 * file beside it that is renamed into place, so a reader (or a failed build)
 * never sees half an image.
 *
 * @throws BuildError IO naming the path and the system's reason.
 */
export async function writeImageFile(path: string, image: Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, image);
    await rename(tmp, path);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw new BuildError('IO', `cannot write ${path}: ${(cause as Error).message}`, { cause });
  }
}
