/**
 * Mount-time validation of a rofs volume. A volume may come from a hostile or
 * damaged image, so every count, offset, length, name and link is checked here,
 * once, before the volume is used; afterwards lookups and reads need no bounds
 * checks. Every loop is bounded by counts already checked against the volume
 * size, so a crafted volume cannot make mount hang.
 */

import { KernelError } from '../errors.js';
import { compareNames, nameProblem } from './rofsName.js';
import {
  ROFS_DIRENT_LAYOUT as D,
  ROFS_INODE_LAYOUT as I,
  ROFS_MAGIC,
  ROFS_ROOT_INODE,
  ROFS_SUPERBLOCK_LAYOUT as SB,
  ROFS_VERSION,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
  S_IPERM,
} from './rofsLayout.js';

/** Where a checked volume's regions are, and each inode's parent directory. */
export interface RofsGeometry {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly inodeCount: number;
  /** Byte offsets from the start of the volume. */
  readonly inodeTableOffset: number;
  readonly direntTableOffset: number;
  readonly namesOffset: number;
  readonly dataOffset: number;
  /** parent[i] is the directory holding inode i; the root is its own parent. */
  readonly parent: Uint32Array;
}

function bad(problem: string): KernelError {
  return new KernelError('BAD_FILESYSTEM', `rofs: bad filesystem — ${problem}`);
}

/** Checks the superblock and region bounds; returns the geometry without parents. */
function checkSuperblock(bytes: Uint8Array, view: DataView) {
  if (bytes.length < SB.SIZE) throw bad(`the volume is ${bytes.length} bytes, smaller than its ${SB.SIZE}-byte superblock`);
  const u32 = (f: { offset: number }): number => view.getUint32(f.offset, true);
  if (u32(SB.magic) !== ROFS_MAGIC) throw bad('no rofs magic in the superblock');
  if (u32(SB.version) !== ROFS_VERSION) throw bad(`layout version ${u32(SB.version)} (this kernel reads ${ROFS_VERSION})`);
  if (u32(SB.volumeLength) !== bytes.length) throw bad(`the superblock says ${u32(SB.volumeLength)} bytes but the volume has ${bytes.length}`);
  for (let i = 0; i < SB.reserved.size; i++) if (bytes[SB.reserved.offset + i] !== 0) throw bad('reserved superblock bytes are not zero');
  const inodeCount = u32(SB.inodeCount);
  if (inodeCount < 1) throw bad('no root inode');
  if (u32(SB.direntCount) !== inodeCount - 1) throw bad(`${u32(SB.direntCount)} directory entries for ${inodeCount} inodes (want one per inode but the root)`);
  const regions: [string, number, number][] = [
    ['inode table', u32(SB.inodeTableOffset), inodeCount * I.SIZE],
    ['directory table', u32(SB.direntTableOffset), (inodeCount - 1) * D.SIZE],
    ['names area', u32(SB.namesOffset), u32(SB.namesLength)],
    ['data area', u32(SB.dataOffset), u32(SB.dataLength)],
  ];
  let end = SB.SIZE;
  for (const [what, offset, length] of regions) {
    if (offset < end) throw bad(`the ${what} at byte ${offset} overlaps what precedes it (ending at byte ${end})`);
    end = offset + length;
    if (end > bytes.length) throw bad(`the ${what} ends at byte ${end}, past the volume's ${bytes.length} bytes`);
  }
  const [inodes, dirents, names, data] = regions.map(([, offset, length]) => ({ offset, length })) as [Region, Region, Region, Region];
  return { inodeCount, inodes, dirents, names, data };
}

interface Region {
  readonly offset: number;
  readonly length: number;
}

interface Tables {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  readonly inodeCount: number;
  readonly inodes: number;
  readonly dirents: number;
  readonly names: Region;
  readonly dataLength: number;
}

/** Checks one inode's type, mode and extent. Returns true for a directory. */
function checkInode(t: Tables, ino: number): boolean {
  const at = t.inodes + ino * I.SIZE;
  const mode = t.view.getUint32(at + I.mode.offset, true);
  const size = t.view.getUint32(at + I.size.offset, true);
  const offset = t.view.getUint32(at + I.offset.offset, true);
  if (t.view.getUint32(at + I.reserved.offset, true) !== 0) throw bad(`inode ${ino}: reserved field is not zero`);
  const type = mode & S_IFMT;
  if ((mode & ~(S_IFMT | S_IPERM)) !== 0 || (type !== S_IFREG && type !== S_IFDIR)) throw bad(`inode ${ino}: mode 0o${mode.toString(8)} is neither a file nor a directory`);
  const limit = type === S_IFREG ? t.dataLength : t.inodeCount - 1;
  if (offset + size > limit) {
    throw bad(type === S_IFREG
      ? `inode ${ino}: data [${offset}, ${offset + size}) lies outside the ${t.dataLength}-byte data area`
      : `inode ${ino}: entries [${offset}, ${offset + size}) lie outside the ${t.inodeCount - 1}-entry directory table`);
  }
  return type === S_IFDIR;
}

/** Checks a directory's entries: targets, names, order; records each target's parent. */
function checkEntries(t: Tables, dir: number, parent: Uint32Array, linked: Uint8Array): void {
  const at = t.inodes + dir * I.SIZE;
  const size = t.view.getUint32(at + I.size.offset, true);
  const first = t.view.getUint32(at + I.offset.offset, true);
  let previous: Uint8Array | undefined;
  for (let e = first; e < first + size; e++) {
    const d = t.dirents + e * D.SIZE;
    const ino = t.view.getUint32(d + D.inode.offset, true);
    const nameOffset = t.view.getUint32(d + D.nameOffset.offset, true);
    const nameLength = t.view.getUint16(d + D.nameLength.offset, true);
    if (t.view.getUint16(d + D.reserved.offset, true) !== 0) throw bad(`directory entry ${e}: reserved field is not zero`);
    if (ino === 0 || ino >= t.inodeCount) throw bad(`directory entry ${e} names inode ${ino}, which is ${ino === 0 ? 'the root' : 'past the inode table'}`);
    if (linked[ino] === 1) throw bad(`inode ${ino} has more than one directory entry`);
    if (nameOffset + nameLength > t.names.length) throw bad(`directory entry ${e}: its name lies outside the names area`);
    const name = t.bytes.subarray(t.names.offset + nameOffset, t.names.offset + nameOffset + nameLength);
    const problem = nameProblem(name);
    if (problem !== undefined) throw bad(`directory entry ${e}: the name ${problem}`);
    if (previous !== undefined && compareNames(previous, name) >= 0) throw bad(`directory entry ${e} is out of order or repeats a name in inode ${dir}`);
    previous = name;
    linked[ino] = 1;
    parent[ino] = dir;
  }
}

/** Checks that every inode hangs from the root (no cycles, nothing orphaned). */
function checkTree(t: Tables, isDir: Uint8Array): void {
  const reached = new Uint8Array(t.inodeCount);
  const queue = new Uint32Array(t.inodeCount);
  let head = 0;
  let tail = 0;
  queue[tail++] = 0;
  reached[0] = 1;
  while (head < tail) {
    const dir = queue[head++] as number;
    if (isDir[dir] !== 1) continue;
    const at = t.inodes + dir * I.SIZE;
    const first = t.view.getUint32(at + I.offset.offset, true);
    const size = t.view.getUint32(at + I.size.offset, true);
    for (let e = first; e < first + size; e++) {
      const ino = t.view.getUint32(t.dirents + e * D.SIZE + D.inode.offset, true);
      if (reached[ino] === 1) continue; // cannot happen after checkEntries; keeps the queue bounded regardless
      reached[ino] = 1;
      queue[tail++] = ino;
    }
  }
  if (tail !== t.inodeCount) throw bad(`${t.inodeCount - tail} inodes cannot be reached from the root (a directory cycle or orphans)`);
}

/**
 * Validates a rofs volume completely and returns where its parts are.
 *
 * @throws KernelError BAD_FILESYSTEM naming the first problem found.
 */
export function checkRofs(bytes: Uint8Array): RofsGeometry {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { inodeCount, inodes, dirents, names, data } = checkSuperblock(bytes, view);
  const t: Tables = { view, bytes, inodeCount, inodes: inodes.offset, dirents: dirents.offset, names, dataLength: data.length };
  const isDir = new Uint8Array(inodeCount);
  for (let ino = 0; ino < inodeCount; ino++) isDir[ino] = checkInode(t, ino) ? 1 : 0;
  if (isDir[ROFS_ROOT_INODE] !== 1) throw bad('the root inode is not a directory');
  const parent = new Uint32Array(inodeCount);
  const linked = new Uint8Array(inodeCount);
  for (let ino = 0; ino < inodeCount; ino++) if (isDir[ino] === 1) checkEntries(t, ino, parent, linked);
  checkTree(t, isDir);
  return {
    bytes,
    view,
    inodeCount,
    inodeTableOffset: inodes.offset,
    direntTableOffset: dirents.offset,
    namesOffset: names.offset,
    dataOffset: data.offset,
    parent,
  };
}
