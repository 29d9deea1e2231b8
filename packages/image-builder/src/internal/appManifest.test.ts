import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadApp, parseAppManifest } from './appManifest.js';
import { BuildError } from './buildError.js';
import { fixtureApp } from './testFixtures.js';

const hello = fixtureApp('hello');

function problem(value: unknown): string {
  try {
    parseAppManifest(value, hello, 'hello/osv-app.json');
  } catch (e) {
    if (e instanceof BuildError && e.code === 'BAD_APP') return e.message;
    throw e;
  }
  throw new Error('accepted');
}

describe('osv-app.json', () => {
  it('loads a full manifest', () => {
    const app = loadApp(hello);
    expect(app).toMatchObject({ name: 'hello', version: '1.0.0', entryRelative: 'src/hello.ts', bundlePath: '/hello.js', modules: ['kernel'], memory: 32 * 2 ** 20, cpus: 2, cmdline: undefined });
    expect([...app.files.keys()]).toEqual(['/etc/motd', '/share']);
    expect(app.files.get('/etc/motd')).toBe(join(hello, 'motd.txt'));
  });

  it('defaults what it may leave out', () => {
    const app = parseAppManifest({ name: 'x', entry: 'src/hello.ts' }, hello, 'm');
    expect(app).toMatchObject({ version: '0.0.0', modules: undefined, cmdline: undefined, memory: undefined, cpus: undefined });
    expect(app.files.size).toBe(0);
  });

  const bad: [string, unknown, string][] = [
    ['not an object', [], 'hello/osv-app.json: must hold a JSON object'],
    ['an unknown field', { name: 'x', entry: 'src/hello.ts', module: ['kernel'] }, 'unknown field "module" (known: name, version, entry, modules, files, cmdline, memory, cpus)'],
    ['no name', { entry: 'src/hello.ts' }, 'missing field "name"'],
    ['a bad name', { name: 'a b', entry: 'src/hello.ts' }, '"name" must be a name of letters'],
    ['no entry', { name: 'x' }, 'missing field "entry"'],
    ['an absolute entry', { name: 'x', entry: '/src/hello.ts' }, '"entry" must be relative'],
    ['a missing entry', { name: 'x', entry: 'src/nope.ts' }, '"entry" src/nope.ts does not exist'],
    ['an entry of another kind', { name: 'x', entry: 'motd.txt' }, '"entry" must be a .ts'],
    ['modules not a list', { name: 'x', entry: 'src/hello.ts', modules: 'kernel' }, '"modules" must be an array of distinct module names (got "kernel")'],
    ['repeated modules', { name: 'x', entry: 'src/hello.ts', modules: ['a', 'a'] }, '"modules" must be an array of distinct'],
    ['a relative guest path', { name: 'x', entry: 'src/hello.ts', files: { 'etc/motd': 'motd.txt' } }, '"files" must be an object mapping absolute guest paths'],
    ['an absolute host path', { name: 'x', entry: 'src/hello.ts', files: { '/etc/motd': '/etc/passwd' } }, '"files" must be an object'],
    ['a cmdline that is not a string', { name: 'x', entry: 'src/hello.ts', cmdline: 1 }, '"cmdline" must be a string'],
    ['a memory number', { name: 'x', entry: 'src/hello.ts', memory: 64 }, '"memory" must be a size such as "64M" (got 64)'],
    ['a bad memory size', { name: 'x', entry: 'src/hello.ts', memory: '64X' }, `"memory": '64X' is not a size`],
    ['too little memory', { name: 'x', entry: 'src/hello.ts', memory: '1M' }, '"memory": "1M" must be at least 4 MiB'],
    ['zero cpus', { name: 'x', entry: 'src/hello.ts', cpus: 0 }, '"cpus" must be an integer from 1 to 64 (got 0)'],
  ];
  for (const [what, value, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(problem(value)).toContain(message);
    });
  }
});

describe('loadApp', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'osv-app-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('takes a single file as an app named after it', () => {
    const app = loadApp(join(fixtureApp('single'), 'tool.ts'));
    expect(app).toMatchObject({ name: 'tool', version: '0.0.0', bundlePath: '/tool.js', entryRelative: 'tool.ts' });
  });

  it('says when the app is missing, has no manifest, or bad JSON', () => {
    expect(() => loadApp(join(scratch, 'nope'))).toThrow(/app .*nope does not exist/);
    expect(() => loadApp(scratch)).toThrow(/has no osv-app.json — add one, or give a single .ts\/.js file/);
    writeFileSync(join(scratch, 'osv-app.json'), '{ "name": ');
    expect(() => loadApp(scratch)).toThrow(/osv-app.json: not valid JSON/);
    writeFileSync(join(scratch, 'notes.txt'), 'x');
    expect(() => loadApp(join(scratch, 'notes.txt'))).toThrow(/must be a folder with osv-app.json or a .ts/);
  });

  it('takes the version from package.json beside osv-app.json', () => {
    writeFileSync(join(scratch, 'package.json'), '{ "version": "4.5.6" }');
    writeFileSync(join(scratch, 'main.ts'), 'export const main = () => 0;');
    writeFileSync(join(scratch, 'osv-app.json'), '{ "name": "v", "entry": "main.ts" }');
    expect(loadApp(scratch).version).toBe('4.5.6');
  });
});
