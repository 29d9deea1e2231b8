import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { KERNEL_ERRNO, KernelError } from '../errors.js';
import { buildRofs, type RofsFile } from './rofsBuild.js';
import { compareNames } from './rofsName.js';
import { RofsVolume } from './rofsVolume.js';
import { decodeUtf8, encodeUtf8 } from './utf8.js';

const file = (path: string, text = path): RofsFile => ({ path, data: encodeUtf8(text) });
const vol = RofsVolume.mount(buildRofs([file('/hello.js', 'main'), file('/etc/motd', 'hi'), file('/etc/ssl/ca.pem', 'pem')]));

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (e instanceof KernelError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('RofsVolume lookups', () => {
  it('resolves ., .., repeated and trailing slashes as POSIX does', () => {
    const motd = vol.lookup('/etc/motd');
    expect(vol.lookup('/etc/./motd')).toBe(motd);
    expect(vol.lookup('//etc///motd')).toBe(motd);
    expect(vol.lookup('/etc/ssl/../motd')).toBe(motd);
    expect(vol.lookup('/../../etc/motd')).toBe(motd);
    expect(vol.lookup('/etc/')).toBe(vol.lookup('/etc'));
    expect(vol.lookup('/')).toBe(0);
    expect(codeOf(() => vol.lookup('/etc/motd/'))).toBe('ENOTDIR');
    expect(codeOf(() => vol.lookup('/etc/motd/..'))).toBe('ENOTDIR');
    expect(codeOf(() => vol.lookup('/etc/motd/x'))).toBe('ENOTDIR');
    expect(codeOf(() => vol.lookup('/etc/nope'))).toBe('ENOENT');
    expect(codeOf(() => vol.lookup(`/${'x'.repeat(256)}`))).toBe('ENAMETOOLONG');
    expect(codeOf(() => vol.lookup('etc/motd'))).toBe('EINVAL');
    expect(codeOf(() => vol.lookup('/etc/\ud800'))).toBe('ENOENT');
  });

  it('names the path in errors', () => {
    const e = (() => {
      try {
        vol.readFile('/etc');
      } catch (err) {
        return err as KernelError;
      }
      throw new Error('no error');
    })();
    expect(e).toBeInstanceOf(KernelError);
    expect([e.code, e.errno, e.path, e.message]).toEqual(['EISDIR', KERNEL_ERRNO.EISDIR, '/etc', 'rofs: /etc: is a directory']);
    expect(codeOf(() => vol.readdir('/hello.js'))).toBe('ENOTDIR');
    expect(codeOf(() => vol.stat('/missing'))).toBe('ENOENT');
  });

  it('reads files zero-copy', () => {
    const bytes = buildRofs([file('/a', 'abc')]);
    const data = RofsVolume.mount(bytes).readFile('/a');
    expect(data.buffer).toBe(bytes.buffer);
    expect(decodeUtf8(data)).toBe('abc');
  });

  it('offers inode-level calls for the VFS', () => {
    const etc = vol.lookupChild(0, 'etc');
    expect(vol.statInode(etc).type).toBe('dir');
    expect(vol.readdirInode(etc)).toEqual(['motd', 'ssl']);
    expect(decodeUtf8(vol.readInode(vol.lookupChild(etc, 'motd')))).toBe('hi');
    expect(vol.lookupChild(etc, 'nope')).toBe(-KERNEL_ERRNO.ENOENT);
    expect(vol.lookupChild(vol.lookup('/hello.js'), 'x')).toBe(-KERNEL_ERRNO.ENOTDIR);
    expect(codeOf(() => vol.statInode(99))).toBe('EINVAL');
    expect(codeOf(() => vol.readInode(etc))).toBe('EISDIR');
    expect(codeOf(() => vol.readdirInode(vol.lookup('/hello.js')))).toBe('ENOTDIR');
  });

  it('finds every name in a large directory', () => {
    const names = Array.from({ length: 500 }, (_, i) => `f${(i * 7919) % 1000}`);
    const big = RofsVolume.mount(buildRofs(names.map((n) => file(`/d/${n}`, n))));
    for (const n of names) expect(decodeUtf8(big.readFile(`/d/${n}`))).toBe(n);
    expect(codeOf(() => big.lookup('/d/f1001'))).toBe('ENOENT');
  });
});

// Differential test against the host filesystem. The kernel's tsconfig holds
// no Node types (it is guest code), so the test declares the calls it uses
// and imports the modules by a computed name.
interface HostFs {
  mkdtempSync(prefix: string): string;
  mkdirSync(path: string, options: { recursive: true }): void;
  writeFileSync(path: string, data: Uint8Array): void;
  readFileSync(path: string): Uint8Array;
  readdirSync(path: string): string[];
  statSync(path: string): { isDirectory(): boolean; size: number };
  rmSync(path: string, options: { recursive: true; force: true }): void;
}
const fs = (await import('node:fs' as string)) as HostFs;
const os = (await import('node:os' as string)) as { tmpdir(): string };
const scratch = fs.mkdtempSync(`${os.tmpdir()}/rofs-diff-`);
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

type Outcome = string | { type: string; size?: number } | string[] | Uint8Array;

function outcome(run: () => Outcome): Outcome {
  try {
    return run();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    throw e;
  }
}

const sortBytes = (names: string[]): string[] => [...names].sort((a, b) => compareNames(encodeUtf8(a), encodeUtf8(b)));

describe('RofsVolume against the host filesystem', () => {
  it('agrees with Linux on stat, readFile and readdir', () => {
    const name = fc.constantFrom('a', 'b', 'é', '😀x');
    const paths = fc.uniqueArray(fc.array(name, { minLength: 1, maxLength: 3 }).map((p) => `/${p.join('/')}`), { minLength: 1, maxLength: 8 });
    const query = fc.array(fc.oneof(name, fc.constantFrom('.', '..', '', 'nope')), { maxLength: 5 }).map((p) => `/${p.join('/')}`);
    let run = 0;
    let compared = 0;
    fc.assert(
      fc.property(paths, fc.array(query, { minLength: 1, maxLength: 20 }), (ps, queries) => {
        const files = ps.filter((p) => !ps.some((q) => q.startsWith(`${p}/`))).map((p) => file(p, `${p}!`));
        const root = `${scratch}/${run++}`;
        for (const f of files) {
          fs.mkdirSync(`${root}${f.path.slice(0, f.path.lastIndexOf('/'))}`, { recursive: true });
          fs.writeFileSync(`${root}${f.path}`, f.data);
        }
        fs.mkdirSync(root, { recursive: true });
        const v = RofsVolume.mount(buildRofs(files));
        for (const q of queries) {
          // '..' above the root stays at the root in rofs but leaves the scratch folder on the host.
          let depth = 0;
          if (q.split('/').some((c) => (depth += c === '..' ? -1 : c === '' || c === '.' ? 0 : 1) < 0)) continue;
          const host = `${root}${q}`;
          compared++;
          expect(outcome(() => (({ type }) => ({ type }))(v.stat(q))), q).toEqual(outcome(() => ({ type: fs.statSync(host).isDirectory() ? 'dir' : 'file' })));
          expect(outcome(() => v.readFile(q)), q).toEqual(outcome(() => new Uint8Array(fs.readFileSync(host))));
          expect(outcome(() => v.readdir(q)), q).toEqual(outcome(() => sortBytes(fs.readdirSync(host))));
        }
      }),
      { numRuns: 40 },
    );
    expect(compared).toBeGreaterThan(100);
  });
});
