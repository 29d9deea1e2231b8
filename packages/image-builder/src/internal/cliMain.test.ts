import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage } from '@osv-ts/hv/image';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_BUILD_ERROR, EXIT_OK, EXIT_USAGE, USAGE, runCli } from './cliMain.js';
import { FIXTURE_MODULES, fixtureApp } from './testFixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'osv-build-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t) }, { modulePackages: FIXTURE_MODULES });
  return { code, out, err };
}

describe('osv-build', () => {
  it('builds an image and reports what went in', async () => {
    const img = join(scratch, 'out', 'hello.img');
    const r = await cli(fixtureApp('hello'), '-o', img, '--memory', '48M', '--cpus', '3');
    expect(r).toMatchObject({ code: EXIT_OK, err: '' });
    const image = readImage(new Uint8Array(readFileSync(img)), 'hello.img');
    expect(image.manifest.requires).toMatchObject({ memory: 48 * 2 ** 20, cpus: 3 });
    const lines = r.out.split('\n');
    expect(lines[0]).toBe(`osv-build: hello 1.0.0 -> ${img}`);
    expect(lines[1]).toMatch(/^ {2}app {7}src\/hello\.ts -> \/hello\.js \([\d.]+ KiB\)$/);
    expect(lines[2]).toMatch(/^ {2}modules {3}kernel 9\.8\.7 \(\d+ B\)$/);
    expect(r.out).toContain('  files     /etc/motd (19 B, from motd.txt)\n');
    expect(r.out).toContain('  cmdline   /hello.js\n');
    expect(r.out).toContain('  requires  48 MiB, 3 vCPUs, devices: console\n');
    expect(r.out).toMatch(/ {2}image {5}[\d.]+ KiB: kernel [\d.]+ KiB, rootfs [\d.]+ KiB, cmdline 9 B, manifest \d+ B\n$/);
    expect(readdirSync(join(scratch, 'out'))).toEqual(['hello.img']);
  });

  it('is silent with --quiet', async () => {
    const img = join(scratch, 'quiet.img');
    expect(await cli('-q', join(fixtureApp('single'), 'tool.ts'), '-o', img)).toEqual({ code: EXIT_OK, out: '', err: '' });
    expect(readImage(new Uint8Array(readFileSync(img)), 'quiet.img').cmdline).toBe('/tool.js');
  });

  it('prints help', async () => {
    expect(await cli('--help')).toEqual({ code: EXIT_OK, out: USAGE, err: '' });
  });

  const usageErrors: [string, string[], RegExp][] = [
    ['no app', ['-o', 'x.img'], /^osv-build: no app given — see osv-build --help\n$/],
    ['no output', [fixtureApp('hello')], /^osv-build: no output image given \(-o <image>\) — see osv-build --help\n$/],
    ['two apps', ['a', 'b', '-o', 'x.img'], /one app at a time \(got a, b\)/],
    ['an unknown option', [fixtureApp('hello'), '-o', 'x.img', '--fast'], /^osv-build: Unknown option '--fast' — see osv-build --help\n$/],
    ['a bad memory size', [fixtureApp('hello'), '-o', 'x.img', '--memory', 'lots'], /^osv-build: --memory: 'lots' is not a size/],
    ['a bad cpu count', [fixtureApp('hello'), '-o', 'x.img', '--cpus', 'two'], /--cpus: 'two' is not a whole number/],
    ['a missing option value', [fixtureApp('hello'), '-o'], /^osv-build: Option '-o, --output <value>' argument missing — see osv-build --help\n$/],
    ['an empty module name', [fixtureApp('hello'), '-o', 'x.img', '--modules', 'sched,'], /--modules: 'sched,' has an empty name/],
  ];
  for (const [what, argv, message] of usageErrors) {
    it(`exits 2 on ${what}, with one line`, async () => {
      const r = await cli(...argv);
      expect(r.code).toBe(EXIT_USAGE);
      expect(r.out).toBe('');
      expect(r.err).toMatch(message);
      expect(r.err.split('\n')).toHaveLength(2);
    });
  }

  const buildErrors: [string, string[], string][] = [
    ['an unselected module', [fixtureApp('needs-sched')], "osv-build: app needs-sched imports @osv-ts/sched (module 'sched'), which is not selected — add it to --modules or to osv-app.json\n"],
    ['an unknown module', [fixtureApp('hello'), '--modules', 'ghost'], "osv-build: unknown module 'ghost' in --modules — known modules: kernel, libc, mmu, netchannel, sched\n"],
    ['a missing app', [join(scratch, 'nope')], `osv-build: app ${join(scratch, 'nope')} does not exist\n`],
  ];
  for (const [what, argv, message] of buildErrors) {
    it(`exits 1 on ${what}, with one line, and writes no image`, async () => {
      const img = join(scratch, 'failed.img');
      expect(await cli(...argv, '-o', img)).toEqual({ code: EXIT_BUILD_ERROR, out: '', err: message });
      expect(existsSync(img)).toBe(false);
    });
  }

  it('takes a command line that starts with a kernel option', async () => {
    const img = join(scratch, 'env.img');
    const r = await cli(join(fixtureApp('single'), 'tool.ts'), '--cmdline', '--env=A=1 /tool.js x', '-o', img, '-q');
    expect(r).toEqual({ code: EXIT_OK, out: '', err: '' });
    expect(readImage(new Uint8Array(readFileSync(img)), 'env.img').cmdline).toBe('--env=A=1 /tool.js x');
  });

  it('links the selected modules given on the command line', async () => {
    const img = join(scratch, 'sched.img');
    const r = await cli(fixtureApp('needs-sched'), '-o', img, '--modules', 'sched', '-q');
    expect(r.code).toBe(EXIT_OK);
    expect(readImage(new Uint8Array(readFileSync(img)), 'sched.img').manifest.modules.map((m) => m.name)).toEqual(['kernel', 'sched']);
  });
});
