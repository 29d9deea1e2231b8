import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KernelError } from '../errors.js';
import { buildRofs, type RofsFile } from './rofsBuild.js';
import { ROFS_DIRENT_LAYOUT, ROFS_INODE_LAYOUT, ROFS_SUPERBLOCK_LAYOUT, S_IFDIR, S_IFREG } from './rofsLayout.js';
import { decodeUtf8, encodeUtf8 } from './utf8.js';
import { RofsVolume } from './rofsVolume.js';

const file = (path: string, text = path, mode?: number): RofsFile => ({ path, data: encodeUtf8(text), ...(mode === undefined ? {} : { mode }) });

function refusal(files: RofsFile[]): KernelError {
  try {
    buildRofs(files);
  } catch (e) {
    if (e instanceof KernelError) return e;
    throw e;
  }
  throw new Error('buildRofs accepted the files');
}

describe('rofs layout', () => {
  it('has the documented structure sizes', () => {
    expect(ROFS_SUPERBLOCK_LAYOUT.SIZE).toBe(64);
    expect(ROFS_INODE_LAYOUT.SIZE).toBe(16);
    expect(ROFS_DIRENT_LAYOUT.SIZE).toBe(12);
  });
});

describe('buildRofs', () => {
  it('builds nested directories that mount and read back', () => {
    const vol = RofsVolume.mount(buildRofs([file('/hello.js', 'main()'), file('/etc/motd', 'hi\n', 0o600), file('/etc/ssl/certs/a.pem')]));
    expect(vol.readdir('/')).toEqual(['etc', 'hello.js']);
    expect(vol.readdir('/etc')).toEqual(['motd', 'ssl']);
    expect(decodeUtf8(vol.readFile('/etc/motd'))).toBe('hi\n');
    expect(vol.stat('/etc/motd')).toMatchObject({ type: 'file', size: 3, mode: S_IFREG | 0o600 });
    expect(vol.stat('/hello.js').mode).toBe(S_IFREG | 0o644);
    expect(vol.stat('/etc/ssl')).toMatchObject({ type: 'dir', size: 1, mode: S_IFDIR | 0o755 });
    expect(vol.stat('/')).toEqual({ inode: 0, type: 'dir', size: 2, mode: S_IFDIR | 0o755 });
    expect(vol.inodeCount).toBe(7);
  });

  it('builds an empty volume whose root lists nothing', () => {
    const vol = RofsVolume.mount(buildRofs([]));
    expect(vol.readdir('/')).toEqual([]);
  });

  it('keeps empty files and binary data', () => {
    const bin = new Uint8Array(256).map((_, i) => 255 - i);
    const vol = RofsVolume.mount(buildRofs([{ path: '/empty', data: new Uint8Array() }, { path: '/bin', data: bin }]));
    expect(vol.readFile('/empty').length).toBe(0);
    expect(vol.readFile('/bin')).toEqual(bin);
  });

  it('orders entries by UTF-8 bytes', () => {
    const vol = RofsVolume.mount(buildRofs(['/Z', '/a', '/é', '/😀', '/\uffee'].map((p) => file(p))));
    expect(vol.readdir('/')).toEqual(['Z', 'a', 'é', '\uffee', '😀']);
  });

  it('gives the same bytes whatever the order of the files', () => {
    const paths = fc.uniqueArray(fc.array(fc.constantFrom('a', 'b', 'c', 'dé'), { minLength: 1, maxLength: 4 }).map((p) => `/${p.join('/')}`), { maxLength: 12 });
    fc.assert(
      fc.property(paths, fc.func(fc.integer()), (ps, key) => {
        // Keep only paths that are not prefixes (as directories) of others.
        const files = ps.filter((p) => !ps.some((q) => q.startsWith(`${p}/`))).map((p) => file(p));
        const shuffled = [...files].sort((x, y) => key(x.path) - key(y.path));
        expect(buildRofs(shuffled)).toEqual(buildRofs(files));
      }),
      { numRuns: 200 },
    );
  });

  const bad: [string, RofsFile[], string][] = [
    ['a relative path', [file('etc/motd')], 'EINVAL'],
    ['the root itself', [file('/')], 'EINVAL'],
    ['an empty component', [file('/etc//motd')], 'EINVAL'],
    ['a trailing slash', [file('/etc/')], 'EINVAL'],
    ['a .. component', [file('/etc/../motd')], 'EINVAL'],
    ['a . component', [file('/./motd')], 'EINVAL'],
    ['a NUL byte', [file('/a\0b')], 'EINVAL'],
    ['a lone surrogate', [file('/a\ud800')], 'EINVAL'],
    ['a 256-byte name', [file(`/${'é'.repeat(128)}`)], 'ENAMETOOLONG'],
    ['a path over 4096 bytes', [file(`/${Array(20).fill('x'.repeat(250)).join('/')}`)], 'ENAMETOOLONG'],
    ['a duplicate', [file('/a'), file('/a')], 'EEXIST'],
    ['a file used as a directory', [file('/a'), file('/a/b')], 'ENOTDIR'],
    ['a directory given as a file', [file('/a/b'), file('/a')], 'EEXIST'],
    ['a mode with type bits', [file('/a', 'x', 0o100644)], 'EINVAL'],
    ['a fractional mode', [file('/a', 'x', 1.5)], 'EINVAL'],
  ];
  for (const [what, files, code] of bad) {
    it(`refuses ${what}`, () => {
      const e = refusal(files);
      expect(e.code).toBe(code);
      expect(e.message).toMatch(/^rofs: cannot add /);
    });
  }

  it('accepts a 255-byte name', () => {
    const name = `${'é'.repeat(127)}x`;
    expect(RofsVolume.mount(buildRofs([file(`/${name}`)])).readdir('/')).toEqual([name]);
  });
});
