/**
 * End to end: osv-build makes the hello image, osv-run boots it on the bundled
 * VM. These are the foundation's "done when" checks, run against the real CLIs
 * (built into dist/ by the test command) and the Machine API.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '@osv-ts/hv';
import { readImage } from '@osv-ts/hv/image';
import { buildImage } from '@osv-ts/image-builder';

const here = new URL('..', import.meta.url).pathname;
const root = join(here, '../..');
const osvRun = join(root, 'packages/hv/dist/cli.js');
const osvBuild = join(root, 'packages/image-builder/dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'osv-hello-'));
const img = join(dir, 'hello.img');

function run(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [osvRun, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  const r = spawnSync(process.execPath, [osvBuild, here, '-o', img], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/hello/);
});

describe('the hello image', () => {
  it('prints its greeting from inside the VM and exits 0', () => {
    const r = run([img]);
    expect(r.out).toBe('Hello, world! from osv-ts\nvCPUs online: 1\n');
    expect(r.code).toBe(0);
  });

  it("makes the app's exit code osv-run's", () => {
    const r = run([img, '--cmdline', '/hello.js --exit 7']);
    expect(r.code).toBe(7);
    expect(r.out).toContain('Hello, world!');
  });

  it('boots two vCPUs and the app sees both', () => {
    const r = run([img, '--cpus', '2']);
    expect(r.out).toContain('vCPUs online: 2');
    expect(r.code).toBe(0);
  });

  it('passes kernel options and arguments through the command line', () => {
    const r = run([img, '--cmdline', '--env=GREET=osv /hello.js --name "two words"']);
    expect(r.out).toContain('Hello, two words! from osv-ts');
    const e = run([img, '--cmdline', '--env=GREET=osv /hello.js']);
    expect(e.out).toContain('Hello, osv! from osv-ts');
  });

  it("prints an uncaught error's stack and exits non-zero", () => {
    const r = run([img, '--cmdline', '/hello.js --throw']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Uncaught Error: hello was asked to throw\n\s+at .*\/hello\.js:\d+:\d+/);
  });

  it('exits 127 naming the program when it is not in the image', () => {
    const r = run([img, '--cmdline', '/nope.js']);
    expect(r.code).toBe(127);
    expect(r.out).toContain('/nope.js');
  });

  it('runs in-process through the Machine API with a boot timeline', async () => {
    const m = await Machine.boot({ image: img, cpus: 2 });
    let out = '';
    m.console.on('data', (c: Buffer) => (out += c.toString()));
    const exit = await m.wait();
    expect(exit).toEqual({ code: 0, reason: 'poweroff' });
    expect(out).toContain('vCPUs online: 2');
    const t = m.timeline();
    for (const p of ['KERNEL_ENTRY', 'CPUS_ONLINE', 'DEVICES_UP', 'FS_MOUNTED', 'APP_LOADED', 'APP_MAIN'] as const) {
      expect(t.kernel[p], p).toBeGreaterThan(0);
    }
    expect(t.kernel.APP_MAIN!).toBeGreaterThanOrEqual(t.kernel.KERNEL_ENTRY!);
  });
});

describe('image integrity', () => {
  it('two builds of the same app are byte-identical', async () => {
    const a = await buildImage({ app: here });
    const b = await buildImage({ app: here });
    expect(Buffer.from(a.image).equals(Buffer.from(b.image))).toBe(true);
    expect(Buffer.from(a.image).equals(readFileSync(img))).toBe(true);
  });

  it('refuses an image with one flipped byte in any section, naming the section', () => {
    const bytes = readFileSync(img);
    const parsed = readImage(new Uint8Array(bytes), 'hello.img');
    for (const s of parsed.sectionTable) {
      const bad = Buffer.from(bytes);
      const at = s.offset + Math.floor(s.bytes.length / 2);
      bad[at] = bad[at]! ^ 0x20;
      const path = join(dir, `flipped-${s.name}.img`);
      writeFileSync(path, bad);
      const r = run([path]);
      expect(r.code, s.name).toBe(1);
      expect(r.out).toBe('');
      expect(r.err).toContain(`section ${s.name} checksum mismatch`);
    }
    const header = Buffer.from(bytes);
    header[20] = header[20]! ^ 1;
    writeFileSync(join(dir, 'flipped-header.img'), header);
    expect(run([join(dir, 'flipped-header.img')]).err).toMatch(/header/);
  });

  it('explains a truncated file and a file that is not an image', () => {
    const bytes = readFileSync(img);
    writeFileSync(join(dir, 'short.img'), bytes.subarray(0, bytes.length - 1000));
    const t = run([join(dir, 'short.img')]);
    expect(t.code).toBe(1);
    expect(t.err).toMatch(/short\.img: truncated/);
    writeFileSync(join(dir, 'notes.txt'), 'just some text\n');
    const n = run([join(dir, 'notes.txt')]);
    expect(n.code).toBe(1);
    expect(n.err).toMatch(/notes\.txt: not an osv-ts image/);
    const missing = run([join(dir, 'absent.img')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/absent\.img: cannot read it/);
  });

  it('rejects bad options with usage errors', () => {
    expect(run([img, '--cpus', 'many']).code).toBe(2);
    expect(run([img, '--cpus', '65']).code).toBe(2);
    expect(run([img, '--memory', 'lots']).err).toMatch(/--memory: 'lots' is not a size/);
    expect(run([]).code).toBe(2);
    expect(run(['--help']).out).toMatch(/usage: osv-run IMAGE/);
  });
});
