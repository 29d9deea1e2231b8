/**
 * The rofs writer, run by the image builder on the host (and by tests): turns
 * a list of files into a volume of ROFS layout. It is guest-safe code like the
 * rest of the kernel, so the builder and the kernel share one definition.
 */

import { KernelError } from '../errors.js';
import { compareNames, nameProblem } from './rofsName.js';
import {
  ROFS_DATA_ALIGN,
  ROFS_DIRENT_LAYOUT as D,
  ROFS_INODE_LAYOUT as I,
  ROFS_MAGIC,
  ROFS_NAME_MAX,
  ROFS_PATH_MAX,
  ROFS_SUPERBLOCK_LAYOUT as SB,
  ROFS_VERSION,
  S_IFDIR,
  S_IFREG,
  S_IPERM,
} from './rofsLayout.js';
import { isWellFormedText, utf8ByteLength, encodeUtf8 } from './utf8.js';

/** One file to put in a volume. */
export interface RofsFile {
  /** Absolute path, e.g. "/etc/motd"; parent directories are created. */
  readonly path: string;
  /** The file's contents. */
  readonly data: Uint8Array;
  /** Permission bits (0..0o7777); default 0o644. Directories get 0o755. */
  readonly mode?: number;
}

interface Node {
  readonly name: Uint8Array;
  readonly file: RofsFile | undefined; // undefined for a directory
  readonly children: Map<string, Node>;
  inode: number;
}

const MAX_U32 = 2 ** 32 - 1;

function badPath(code: 'EINVAL' | 'ENAMETOOLONG', path: string, why: string): KernelError {
  return new KernelError(code, `rofs: cannot add ${JSON.stringify(path)}: ${why}`, { path });
}

/** Splits and checks an absolute path; returns its components. */
function components(path: string): string[] {
  if (!path.startsWith('/')) throw badPath('EINVAL', path, 'the path must be absolute');
  if (!isWellFormedText(path)) throw badPath('EINVAL', path, 'the path holds a lone UTF-16 surrogate');
  if (utf8ByteLength(path) > ROFS_PATH_MAX) throw badPath('ENAMETOOLONG', path, `the path is longer than ${ROFS_PATH_MAX} bytes`);
  const parts = path.slice(1).split('/');
  for (const part of parts) {
    const bytes = encodeUtf8(part);
    const problem = nameProblem(bytes);
    if (problem !== undefined) {
      throw badPath(bytes.length > ROFS_NAME_MAX ? 'ENAMETOOLONG' : 'EINVAL', path, `component ${JSON.stringify(part)} ${problem}`);
    }
  }
  return parts;
}

function newNode(name: string, file: RofsFile | undefined): Node {
  return { name: encodeUtf8(name), file, children: new Map(), inode: -1 };
}

/** Builds the directory tree, creating parents and refusing duplicates and file/directory clashes. */
function buildTree(files: readonly RofsFile[]): Node {
  const root = newNode('', undefined);
  for (const f of files) {
    if (f.mode !== undefined && (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > S_IPERM)) {
      throw new KernelError('EINVAL', `rofs: cannot add ${f.path}: mode ${f.mode} is not a permission mask (0 to 0o7777)`, { path: f.path });
    }
    const parts = components(f.path);
    let dir = root;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const existing = dir.children.get(part);
      if (existing === undefined) {
        const node = newNode(part, last ? f : undefined);
        dir.children.set(part, node);
        dir = node;
      } else if (last) {
        throw new KernelError('EEXIST', `rofs: cannot add ${f.path}: it is already ${existing.file === undefined ? 'a directory' : 'in the volume'}`, { path: f.path });
      } else if (existing.file !== undefined) {
        throw new KernelError('ENOTDIR', `rofs: cannot add ${f.path}: /${parts.slice(0, i + 1).join('/')} is a file`, { path: f.path });
      } else {
        dir = existing;
      }
    });
  }
  return root;
}

/** Numbers the inodes breadth-first, each directory's children in name-byte order. */
function numberInodes(root: Node): Node[] {
  const order: Node[] = [root];
  root.inode = 0;
  for (let i = 0; i < order.length; i++) {
    const kids = [...(order[i] as Node).children.values()].sort((a, b) => compareNames(a.name, b.name));
    for (const kid of kids) {
      kid.inode = order.length;
      order.push(kid);
    }
  }
  return order;
}

function sortedChildren(node: Node): Node[] {
  return [...node.children.values()].sort((a, b) => a.inode - b.inode);
}

const align = (n: number): number => Math.ceil(n / ROFS_DATA_ALIGN) * ROFS_DATA_ALIGN;

/** Region offsets of a volume holding `nodes`. */
function plan(nodes: readonly Node[]) {
  let names = 0;
  let data = 0;
  for (const n of nodes) {
    names += n.inode === 0 ? 0 : n.name.length;
    if (n.file !== undefined) data = align(data) + n.file.data.length;
  }
  const inodeTableOffset = SB.SIZE;
  const direntTableOffset = inodeTableOffset + nodes.length * I.SIZE;
  const namesOffset = direntTableOffset + (nodes.length - 1) * D.SIZE;
  const dataOffset = align(namesOffset + names);
  return { inodeTableOffset, direntTableOffset, namesOffset, namesLength: names, dataOffset, dataLength: data, volumeLength: dataOffset + data };
}

/**
 * Builds a rofs volume holding `files`. Parent directories are created as
 * needed. The result depends only on the set of files, not their order:
 * entries are sorted by name bytes and inodes numbered breadth-first.
 *
 * @throws KernelError EINVAL for a relative path, an empty, '.' or '..'
 *   component, a NUL byte, a lone surrogate or a bad mode; ENAMETOOLONG for a
 *   name over 255 bytes or a path over 4096; EEXIST for a duplicate path;
 *   ENOTDIR when a file is also used as a directory; ENOSPC when the volume
 *   would reach 4 GiB.
 */
export function buildRofs(files: readonly RofsFile[]): Uint8Array {
  const nodes = numberInodes(buildTree(files));
  const p = plan(nodes);
  if (p.volumeLength > MAX_U32) throw new KernelError('ENOSPC', `rofs: the volume would be ${p.volumeLength} bytes; at most ${MAX_U32} fit`);
  const out = new Uint8Array(p.volumeLength);
  const view = new DataView(out.buffer);
  const sb = (f: { offset: number }, v: number): void => view.setUint32(f.offset, v, true);
  sb(SB.magic, ROFS_MAGIC);
  sb(SB.version, ROFS_VERSION);
  sb(SB.volumeLength, p.volumeLength);
  sb(SB.inodeCount, nodes.length);
  sb(SB.inodeTableOffset, p.inodeTableOffset);
  sb(SB.direntCount, nodes.length - 1);
  sb(SB.direntTableOffset, p.direntTableOffset);
  sb(SB.namesOffset, p.namesOffset);
  sb(SB.namesLength, p.namesLength);
  sb(SB.dataOffset, p.dataOffset);
  sb(SB.dataLength, p.dataLength);
  let dirent = 0;
  let name = 0;
  let data = 0;
  for (const n of nodes) {
    const at = p.inodeTableOffset + n.inode * I.SIZE;
    if (n.file !== undefined) {
      data = align(data);
      view.setUint32(at + I.mode.offset, S_IFREG | (n.file.mode ?? 0o644), true);
      view.setUint32(at + I.size.offset, n.file.data.length, true);
      view.setUint32(at + I.offset.offset, data, true);
      out.set(n.file.data, p.dataOffset + data);
      data += n.file.data.length;
      continue;
    }
    view.setUint32(at + I.mode.offset, S_IFDIR | 0o755, true);
    view.setUint32(at + I.size.offset, n.children.size, true);
    view.setUint32(at + I.offset.offset, dirent, true);
    for (const kid of sortedChildren(n)) {
      const d = p.direntTableOffset + dirent++ * D.SIZE;
      view.setUint32(d + D.inode.offset, kid.inode, true);
      view.setUint32(d + D.nameOffset.offset, name, true);
      view.setUint16(d + D.nameLength.offset, kid.name.length, true);
      out.set(kid.name, p.namesOffset + name);
      name += kid.name.length;
    }
  }
  return out;
}
