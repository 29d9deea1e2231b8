/**
 * The virtual filesystem switch, reduced to what the foundation needs: one
 * read-only root (the rofs volume the hv loaded) and path lookups on it. Later
 * filesystems (zfs-lite, devfs) mount beside it.
 */
import { KernelError } from '../errors.js';

/** What a mounted filesystem offers the VFS. */
export interface FileSystem {
  readFile(path: string): Uint8Array;
  readdir(path: string): string[];
  stat(path: string): { readonly type: 'file' | 'dir' | string; readonly size: number; readonly mode: number };
}

/** Normalises an absolute path: collapses slashes and `.`, resolves `..` without leaving the root. */
export function normalizePath(path: string): string {
  if (!path.startsWith('/')) throw new KernelError('EINVAL', `path '${path}' is not absolute`, { path });
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return `/${parts.join('/')}`;
}

/** The mount table: for now the root alone. */
export class Vfs {
  constructor(private readonly root: FileSystem) {}

  readFile(path: string): Uint8Array {
    return this.root.readFile(normalizePath(path));
  }

  readdir(path: string): string[] {
    return this.root.readdir(normalizePath(path));
  }

  stat(path: string): ReturnType<FileSystem['stat']> {
    return this.root.stat(normalizePath(path));
  }
}
