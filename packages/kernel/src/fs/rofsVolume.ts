/**
 * A mounted rofs volume: path lookup, stat, whole-file reads and directory
 * listings over a volume held in memory (the hv loads the image's rootfs
 * section at ROOTFS_ADDR). The volume is validated once by mount; afterwards
 * every offset read from it is known to be in bounds. File reads are zero-copy.
 */

import { KERNEL_ERRNO, KernelError } from '../errors.js';
import { checkRofs, type RofsGeometry } from './rofsCheck.js';
import { compareNames } from './rofsName.js';
import { ROFS_DIRENT_LAYOUT as D, ROFS_INODE_LAYOUT as I, ROFS_NAME_MAX, ROFS_ROOT_INODE, S_IFDIR, S_IFMT } from './rofsLayout.js';
import { isWellFormedText, decodeUtf8, encodeUtf8 } from './utf8.js';

/** What stat reports about an inode. */
export interface RofsStat {
  /** Inode number (the root is 0). */
  readonly inode: number;
  /** 'file' or 'dir'. */
  readonly type: 'file' | 'dir';
  /** st_mode: S_IFREG or S_IFDIR plus permission bits. */
  readonly mode: number;
  /** File: bytes. Directory: number of entries. */
  readonly size: number;
}

/** A read-only filesystem mounted from a rofs volume in memory. */
export class RofsVolume {
  private readonly g: RofsGeometry;

  private constructor(g: RofsGeometry) {
    this.g = g;
  }

  /**
   * Validates `bytes` as a rofs volume and mounts it. The volume is used in
   * place (not copied): the caller must not change it while mounted.
   *
   * @throws KernelError BAD_FILESYSTEM naming the problem when any count,
   *   offset, name or link in the volume is invalid.
   */
  static mount(bytes: Uint8Array): RofsVolume {
    return new RofsVolume(checkRofs(bytes));
  }

  /** Number of inodes (files and directories, the root included). */
  get inodeCount(): number {
    return this.g.inodeCount;
  }

  private field(ino: number, f: { offset: number }): number {
    return this.g.view.getUint32(this.g.inodeTableOffset + ino * I.SIZE + f.offset, true);
  }

  private isDir(ino: number): boolean {
    return (this.field(ino, I.mode) & S_IFMT) === S_IFDIR;
  }

  private entryName(e: number): Uint8Array {
    const d = this.g.direntTableOffset + e * D.SIZE;
    const offset = this.g.namesOffset + this.g.view.getUint32(d + D.nameOffset.offset, true);
    return this.g.bytes.subarray(offset, offset + this.g.view.getUint16(d + D.nameLength.offset, true));
  }

  private entryInode(e: number): number {
    return this.g.view.getUint32(this.g.direntTableOffset + e * D.SIZE + D.inode.offset, true);
  }

  private checkInode(ino: number): void {
    if (!Number.isInteger(ino) || ino < 0 || ino >= this.g.inodeCount) {
      throw new KernelError('EINVAL', `rofs: inode ${ino} does not exist (the volume has ${this.g.inodeCount})`);
    }
  }

  /**
   * Finds `name` in directory `dir` by binary search. For path walks on hot
   * paths: returns the inode number, or a negative errno (-ENOENT when absent,
   * -ENOTDIR when `dir` is a file, -ENAMETOOLONG for a name over 255 bytes).
   *
   * @throws KernelError EINVAL when `dir` is not an inode of this volume.
   */
  lookupChild(dir: number, name: string): number {
    this.checkInode(dir);
    if (!this.isDir(dir)) return -KERNEL_ERRNO.ENOTDIR;
    const key = encodeUtf8(name);
    if (key.length > ROFS_NAME_MAX) return -KERNEL_ERRNO.ENAMETOOLONG;
    if (!isWellFormedText(name)) return -KERNEL_ERRNO.ENOENT;
    let lo = this.field(dir, I.offset);
    let hi = lo + this.field(dir, I.size);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareNames(this.entryName(mid), key);
      if (c === 0) return this.entryInode(mid);
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return -KERNEL_ERRNO.ENOENT;
  }

  /**
   * Resolves an absolute path to an inode number. Empty and '.' components
   * are skipped and '..' goes to the parent (the root's parent is the root);
   * as in POSIX, a component after a file, or a trailing '/' after one, is
   * ENOTDIR.
   *
   * @throws KernelError EINVAL for a relative path, ENOENT, ENOTDIR or
   *   ENAMETOOLONG, each naming the path.
   */
  lookup(path: string): number {
    if (!path.startsWith('/')) throw new KernelError('EINVAL', `rofs: ${path}: the path must be absolute`, { path });
    let ino = ROFS_ROOT_INODE;
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const part = parts[i] as string;
      const trailing = part === '' && i === parts.length - 1 && i > 1;
      if (part === '' && !trailing) continue;
      if (!this.isDir(ino)) throw errnoError(KERNEL_ERRNO.ENOTDIR, path);
      if (part === '' || part === '.') continue;
      if (part === '..') {
        ino = this.g.parent[ino] as number;
        continue;
      }
      const next = this.lookupChild(ino, part);
      if (next < 0) throw errnoError(-next, path);
      ino = next;
    }
    return ino;
  }

  /** Reports an inode's type, mode and size. @throws KernelError EINVAL for a bad inode number. */
  statInode(ino: number): RofsStat {
    this.checkInode(ino);
    const mode = this.field(ino, I.mode);
    return { inode: ino, type: (mode & S_IFMT) === S_IFDIR ? 'dir' : 'file', mode, size: this.field(ino, I.size) };
  }

  /** stat(2) for rofs. @throws KernelError as lookup does. */
  stat(path: string): RofsStat {
    return this.statInode(this.lookup(path));
  }

  /**
   * A file's contents as a zero-copy view into the volume (do not write to it).
   *
   * @throws KernelError EISDIR for a directory, EINVAL for a bad inode number.
   */
  readInode(ino: number): Uint8Array {
    this.checkInode(ino);
    if (this.isDir(ino)) throw new KernelError('EISDIR', `rofs: inode ${ino} is a directory`);
    const start = this.g.dataOffset + this.field(ino, I.offset);
    return this.g.bytes.subarray(start, start + this.field(ino, I.size));
  }

  /**
   * Reads a whole file, zero-copy (do not write to the result).
   *
   * @throws KernelError EISDIR for a directory, and as lookup does.
   */
  readFile(path: string): Uint8Array {
    const ino = this.lookup(path);
    if (this.isDir(ino)) throw errnoError(KERNEL_ERRNO.EISDIR, path);
    return this.readInode(ino);
  }

  /**
   * Names in a directory, in byte order of their UTF-8 (without '.' and '..').
   *
   * @throws KernelError ENOTDIR for a file, EINVAL for a bad inode number.
   */
  readdirInode(ino: number): string[] {
    this.checkInode(ino);
    if (!this.isDir(ino)) throw new KernelError('ENOTDIR', `rofs: inode ${ino} is not a directory`);
    const first = this.field(ino, I.offset);
    const names: string[] = [];
    for (let e = first; e < first + this.field(ino, I.size); e++) names.push(decodeUtf8(this.entryName(e)));
    return names;
  }

  /** Lists a directory (see readdirInode). @throws KernelError ENOTDIR for a file, and as lookup does. */
  readdir(path: string): string[] {
    const ino = this.lookup(path);
    if (!this.isDir(ino)) throw errnoError(KERNEL_ERRNO.ENOTDIR, path);
    return this.readdirInode(ino);
  }
}

const MESSAGES: Record<number, ['ENOENT' | 'ENOTDIR' | 'EISDIR' | 'ENAMETOOLONG', string]> = {
  [KERNEL_ERRNO.ENOENT]: ['ENOENT', 'no such file or directory'],
  [KERNEL_ERRNO.ENOTDIR]: ['ENOTDIR', 'not a directory'],
  [KERNEL_ERRNO.EISDIR]: ['EISDIR', 'is a directory'],
  [KERNEL_ERRNO.ENAMETOOLONG]: ['ENAMETOOLONG', 'file name too long'],
};

function errnoError(errno: number, path: string): KernelError {
  const [code, text] = MESSAGES[errno] ?? ['ENOENT', 'no such file or directory'];
  return new KernelError(code, `rofs: ${path}: ${text}`, { path });
}
