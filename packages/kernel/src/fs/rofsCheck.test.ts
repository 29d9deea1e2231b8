import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KernelError } from '../errors.js';
import { buildRofs, type RofsFile } from './rofsBuild.js';
import { ROFS_DIRENT_LAYOUT as D, ROFS_INODE_LAYOUT as I, ROFS_SUPERBLOCK_LAYOUT as SB } from './rofsLayout.js';
import { RofsVolume } from './rofsVolume.js';
import { encodeUtf8 } from './utf8.js';

const file = (path: string): RofsFile => ({ path, data: encodeUtf8(`${path}\n`) });
// Inodes: 0 /, 1 /a, 2 /b, 3 /a/x, 4 /b/y.  Entries: 0 a, 1 b (root); 2 x (a); 3 y (b).
const sample = buildRofs([file('/a/x'), file('/b/y')]);

function forge(change: (view: DataView, at: { inode(i: number): number; dirent(e: number): number }) => void): Uint8Array {
  const bytes = sample.slice();
  const view = new DataView(bytes.buffer);
  const inodes = view.getUint32(SB.inodeTableOffset.offset, true);
  const dirents = view.getUint32(SB.direntTableOffset.offset, true);
  change(view, { inode: (i) => inodes + i * I.SIZE, dirent: (e) => dirents + e * D.SIZE });
  return bytes;
}

function refusal(bytes: Uint8Array): string {
  try {
    RofsVolume.mount(bytes);
  } catch (e) {
    if (e instanceof KernelError && e.code === 'BAD_FILESYSTEM') return e.message;
    throw e;
  }
  throw new Error('mount accepted the volume');
}

const set32 = (v: DataView, at: number, x: number): void => v.setUint32(at, x, true);

describe('RofsVolume.mount refuses a bad volume', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['a short volume', sample.subarray(0, 10), /smaller than its 64-byte superblock/],
    ['a wrong magic', forge((v) => set32(v, SB.magic.offset, 0)), /no rofs magic/],
    ['another version', forge((v) => set32(v, SB.version.offset, 2)), /layout version 2/],
    ['a wrong volume length', sample.subarray(0, sample.length - 1), /says \d+ bytes but the volume has/],
    ['reserved superblock bytes', forge((v) => v.setUint8(SB.reserved.offset + 3, 1)), /reserved superblock/],
    ['no root', forge((v) => set32(v, SB.inodeCount.offset, 0)), /no root inode/],
    ['a wrong entry count', forge((v) => set32(v, SB.direntCount.offset, 3)), /3 directory entries for 5 inodes/],
    ['overlapping tables', forge((v) => set32(v, SB.direntTableOffset.offset, SB.SIZE)), /directory table at byte 64 overlaps/],
    ['a table past the end', forge((v) => set32(v, SB.dataLength.offset, 1 << 20)), /data area ends at byte/],
    ['a huge inode count', forge((v) => {
      set32(v, SB.inodeCount.offset, 0xffffffff);
      set32(v, SB.direntCount.offset, 0xfffffffe);
    }), /ends at byte/],
    ['a bad file type', forge((v, at) => set32(v, at.inode(3) + I.mode.offset, 0o120777)), /inode 3: mode 0o120777/],
    ['a root that is a file', forge((v, at) => set32(v, at.inode(0) + I.mode.offset, 0o100644)), /root inode is not a directory/],
    ['file data out of range', forge((v, at) => set32(v, at.inode(4) + I.size.offset, 1000)), /inode 4: data \[\d+, \d+\) lies outside/],
    ['entries out of range', forge((v, at) => set32(v, at.inode(1) + I.offset.offset, 4)), /inode 1: entries \[4, 5\) lie outside/],
    ['an entry naming the root', forge((v, at) => set32(v, at.dirent(2) + D.inode.offset, 0)), /names inode 0, which is the root/],
    ['an entry past the inodes', forge((v, at) => set32(v, at.dirent(2) + D.inode.offset, 5)), /names inode 5, which is past/],
    ['a hard link', forge((v, at) => set32(v, at.dirent(3) + D.inode.offset, 3)), /inode 3 has more than one directory entry/],
    ['a name out of range', forge((v, at) => set32(v, at.dirent(0) + D.nameOffset.offset, 100)), /its name lies outside/],
    ['an empty name', forge((v, at) => v.setUint16(at.dirent(0) + D.nameLength.offset, 0, true)), /name is empty/],
    ['names out of order', forge((v, at) => set32(v, at.dirent(0) + D.nameOffset.offset, 1)), /entry 1 is out of order/],
    ['reserved entry bytes', forge((v, at) => v.setUint16(at.dirent(1) + D.reserved.offset, 1, true)), /entry 1: reserved/],
    ['reserved inode bytes', forge((v, at) => set32(v, at.inode(2) + I.reserved.offset, 1)), /inode 2: reserved/],
    // /b holds itself instead of y, and the root forgets /b: a cycle off the tree.
    ['a directory cycle', forge((v, at) => {
      set32(v, at.inode(0) + I.size.offset, 1);
      set32(v, at.dirent(3) + D.inode.offset, 2);
    }), /2 inodes cannot be reached/],
  ];
  for (const [what, bytes, message] of cases) {
    it(`refuses ${what}`, () => {
      expect(refusal(bytes)).toMatch(message);
    });
  }

  it('refuses a name that is not UTF-8, has a slash, or is ..', () => {
    const names = sample.slice();
    const v = new DataView(names.buffer);
    const namesAt = v.getUint32(SB.namesOffset.offset, true);
    for (const [bytes, message] of [[[0xff], /not valid UTF-8/], [[0x2f], /a \/ or NUL/], [[0x2e], /is \. or \.\./]] as const) {
      const copy = names.slice();
      copy.set(bytes, namesAt); // the first name, "a", is one byte
      expect(refusal(copy)).toMatch(message);
    }
  });
});

/** Mounts `bytes`; if that works, walks the whole tree. Only BAD_FILESYSTEM may escape, and only from mount. */
function probe(bytes: Uint8Array): void {
  let v: RofsVolume;
  try {
    v = RofsVolume.mount(bytes);
  } catch (e) {
    if (e instanceof KernelError && e.code === 'BAD_FILESYSTEM') return;
    throw e;
  }
  let visited = 0;
  const walk = (path: string): void => {
    visited++;
    const st = v.stat(path === '' ? '/' : path);
    if (st.type === 'file') {
      const data = v.readFile(path);
      expect(data.buffer).toBe(bytes.buffer);
      expect(data.byteOffset + data.length).toBeLessThanOrEqual(bytes.byteOffset + bytes.length);
      return;
    }
    for (const name of v.readdir(path === '' ? '/' : path)) walk(`${path}/${name}`);
  };
  walk('');
  expect(visited).toBe(v.inodeCount);
}

describe('RofsVolume.mount under fuzzing', () => {
  const big = buildRofs(['/a/x', '/a/y/z', '/b', '/c/d/e/f', '/é/😀'].map(file));

  it('survives random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => probe(bytes)), { numRuns: 500 });
  });

  it('survives mutated volumes', () => {
    const patches = fc.array(fc.tuple(fc.nat(), fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 1, 0xff))), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(patches, fc.boolean(), (ps, wide) => {
        const bytes = big.slice();
        const tables = new DataView(bytes.buffer).getUint32(SB.namesOffset.offset, true);
        // Half the runs aim at the superblock and tables, where a change means most.
        for (const [pos, value] of ps) bytes[pos % (wide ? bytes.length : tables)] = value;
        probe(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('survives forged u32 fields', () => {
    const word = fc.oneof(fc.nat({ max: 64 }), fc.constantFrom(0xffffffff, 0x80000000, 0x7fffffff), fc.nat());
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), word), { minLength: 1, maxLength: 4 }), (ps) => {
        const bytes = big.slice();
        const view = new DataView(bytes.buffer);
        const tables = view.getUint32(SB.namesOffset.offset, true);
        for (const [pos, value] of ps) view.setUint32((pos % (tables / 4)) * 4, value >>> 0, true);
        probe(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('mounts whatever buildRofs builds, with every file reachable', () => {
    const paths = fc.uniqueArray(fc.array(fc.constantFrom('a', 'b', 'ü', 'x'.repeat(255)), { minLength: 1, maxLength: 4 }).map((p) => `/${p.join('/')}`), { maxLength: 10 });
    fc.assert(
      fc.property(paths, (ps) => {
        const files = ps.filter((p) => !ps.some((q) => q.startsWith(`${p}/`))).map(file);
        const bytes = buildRofs(files);
        probe(bytes);
        const v = RofsVolume.mount(bytes);
        for (const f of files) expect(v.readFile(f.path)).toEqual(f.data);
      }),
      { numRuns: 200 },
    );
  });
});
