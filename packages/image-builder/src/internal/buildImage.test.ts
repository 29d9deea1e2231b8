import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import { readImage, type ParsedImage } from '@osv-ts/hv/image';
import { RofsVolume, decodeUtf8 } from '@osv-ts/kernel/rofs';
import { afterAll, describe, expect, it } from 'vitest';
import { BuildError } from './buildError.js';
import { buildImage, type BuildOptions, type BuildResult } from './buildImage.js';
import { FIXTURE_MODULES, MARKERS, fixtureApp } from './testFixtures.js';

const build = (app: string, over: Partial<BuildOptions> = {}): Promise<BuildResult> =>
  buildImage({ app: fixtureApp(app), modulePackages: FIXTURE_MODULES, ...over });

async function failure(app: string, over: Partial<BuildOptions> = {}): Promise<BuildError> {
  try {
    await build(app, over);
  } catch (e) {
    if (e instanceof BuildError) return e;
    throw e;
  }
  throw new Error('the build succeeded');
}

const markersIn = (source: string): string[] => Object.keys(MARKERS).filter((m) => source.includes(MARKERS[m] as string));

/** Boots the kernel bundle in a fresh vm context as the hv does; returns the context and the modules record start() got. */
function bootKernel(image: ParsedImage): { context: vm.Context; modules: Record<string, Record<string, unknown>> } {
  const context = vm.createContext({});
  vm.runInContext(image.kernelSource, context);
  vm.runInContext('globalThis.__osvKernelStart({ cpu: 0 })', context);
  const boot = (context as { fixtureBoot?: { cpu: number; modules: Record<string, Record<string, unknown>> } }).fixtureBoot;
  if (boot === undefined) throw new Error('the kernel did not start');
  return { context, modules: boot.modules };
}

/** Loads an app bundle as the kernel's program loader does, in the kernel's realm. */
function loadApp(context: vm.Context, modules: Record<string, unknown>, source: string, log: unknown[][]) {
  const GuestFunction = vm.runInContext('Function', context) as FunctionConstructor;
  const body = new GuestFunction('module', 'exports', 'require', 'console', source);
  const module = { exports: {} as Record<string, unknown> };
  const require = (name: string): unknown => {
    if (!(name in modules)) throw new Error(`cannot link ${name}`);
    return modules[name];
  };
  body(module, module.exports, require, { log: (...args: unknown[]) => log.push(args) });
  return (module.exports['main'] ?? module.exports['default']) as (argv: string[], env: Record<string, string>) => unknown;
}

describe('buildImage', () => {
  it('builds an image that verifies and holds the app, its files and the manifest', async () => {
    const r = await build('hello');
    const image = readImage(r.image, 'hello.img');
    expect(image.cmdline).toBe('/hello.js');
    expect(image.manifest).toEqual({
      format: 1,
      app: { name: 'hello', version: '1.0.0', entry: '/hello.js' },
      modules: [{ name: 'kernel', package: '@osv-ts/kernel', version: '9.8.7' }],
      requires: { devices: ['console'], memory: 32 * 2 ** 20, cpus: 2 },
      builder: { name: '@osv-ts/image-builder', version: r.manifest.builder.version },
    });
    const root = RofsVolume.mount(image.rootfs);
    expect(root.readdir('/')).toEqual(['etc', 'hello.js', 'share']);
    expect(decodeUtf8(root.readFile('/etc/motd'))).toBe('Welcome to osv-ts.\n');
    expect(decodeUtf8(root.readFile('/share/sub/b.txt'))).toBe('bb\n');
    expect(r.files.map((f) => [f.path, f.source])).toEqual([['/etc/motd', 'motd.txt'], ['/share/a.txt', 'share/a.txt'], ['/share/sub/b.txt', 'share/sub/b.txt']]);
    expect(r.sections.map((s) => s.name)).toEqual(['kernel', 'rootfs', 'cmdline', 'manifest']);
    expect(r.app).toMatchObject({ name: 'hello', entry: 'src/hello.ts', path: '/hello.js' });
    expect(r.links).toEqual(['@osv-ts/kernel']);
  });

  it('gives a kernel the hv can start and an app its loader can link and run', async () => {
    const image = readImage((await build('hello')).image, 'hello.img');
    const { context, modules } = bootKernel(image);
    expect(Object.keys(modules)).toEqual(['@osv-ts/kernel']);
    expect(Object.isFrozen(modules)).toBe(true);
    const log: unknown[][] = [];
    const main = loadApp(context, modules, decodeUtf8(RofsVolume.mount(image.rootfs).readFile('/hello.js')), log);
    expect(main(['/hello.js', 'osv'], { WHO: 'me' })).toBe(2);
    expect(log).toEqual([['hello, osv', 'me: 3 shadowed']]);
  });

  it('wraps both bundles to capture the built-ins', async () => {
    const image = readImage((await build('hello')).image, 'hello.img');
    const app = decodeUtf8(RofsVolume.mount(image.rootfs).readFile('/hello.js'));
    for (const source of [image.kernelSource, app]) expect(source).toMatch(/^\(\(\) => \{\n"use strict";\nconst \{\n {2}AggregateError, Array,/);
  });

  it('links only the selected modules into the kernel', async () => {
    const only = await build('hello');
    expect(markersIn(readImage(only.image, 'a').kernelSource)).toEqual(['kernel']);
    const net = await build('hello', { modules: ['netchannel'] });
    expect(markersIn(readImage(net.image, 'b').kernelSource)).toEqual(['kernel', 'sched', 'netchannel']);
    expect(net.manifest.modules.map((m) => m.name)).toEqual(['kernel', 'netchannel', 'sched']);
    expect(net.manifest.requires.devices).toEqual(['console', 'net']);
    const { modules } = bootKernel(readImage(net.image, 'b'));
    expect(Object.keys(modules)).toEqual(['@osv-ts/kernel', '@osv-ts/netchannel', '@osv-ts/sched']);
    expect((modules['@osv-ts/netchannel']?.['poll'] as () => number)()).toBe(1);
  });

  it('refuses an app that imports a module the build did not select', async () => {
    const e = await failure('needs-sched');
    expect([e.code, e.message]).toEqual(['MODULE_NOT_SELECTED', "app needs-sched imports @osv-ts/sched (module 'sched'), which is not selected — add it to --modules or to osv-app.json"]);
    const ok = await build('needs-sched', { modules: ['sched'] });
    expect(ok.links).toEqual(['@osv-ts/sched']);
  });

  it('refuses node: imports unless libc is selected, and then leaves them to the loader', async () => {
    const e = await failure('node-app');
    expect(e.message).toBe("app node-app imports node:fs, which needs module 'libc' (Node compat), not selected — add it to --modules or to osv-app.json");
    const ok = await build('node-app', { modules: ['libc'] });
    expect(ok.links).toEqual(['node:fs', 'node:path']);
    const app = decodeUtf8(RofsVolume.mount(readImage(ok.image, 'n').rootfs).readFile('/main.js'));
    expect(app).toContain('require("node:path")');
  });

  it('refuses an @osv-ts package that is no kernel module', async () => {
    const e = await failure('imports-hv');
    expect(e.code).toBe('UNKNOWN_MODULE');
    expect(e.message).toBe('app imports-hv imports @osv-ts/hv/abi, which is not a kernel module — known modules: kernel, libc, mmu, netchannel, sched');
  });

  it('links a subpath the app imports and keeps the manifest command line', async () => {
    const r = await build('subpath');
    const image = readImage(r.image, 's');
    expect(image.cmdline).toBe('--verbose /main.js 1');
    const { modules } = bootKernel(image);
    expect(Object.keys(modules)).toEqual(['@osv-ts/kernel', '@osv-ts/kernel/extra']);
    expect(modules['@osv-ts/kernel/extra']?.['EXTRA_MARKER']).toBe('fixture-kernel-extra');
  });

  it('reports a bundling failure with its place', async () => {
    const e = await failure('broken');
    expect(e.code).toBe('BUNDLE_FAILED');
    expect(e.message).toMatch(/^app broken: main\.ts:1:\d+: Could not resolve "\.\/missing\.js"/);
  });

  it('takes options over osv-app.json', async () => {
    const r = await build('hello', { memory: '128M', cpus: 4, cmdline: '--env=A=1 /etc/../hello.js x' });
    expect(r.manifest.requires).toMatchObject({ memory: 128 * 2 ** 20, cpus: 4 });
    expect(readImage(r.image, 'h').cmdline).toBe('--env=A=1 /etc/../hello.js x');
  });

  it('refuses a command line that names no file in the image', async () => {
    expect((await failure('hello', { cmdline: '/nope.js' })).message).toBe("--cmdline: the command line runs /nope.js, which is not a file in the image's root filesystem");
    expect((await failure('hello', { cmdline: '/etc' })).code).toBe('USAGE');
    expect((await failure('hello', { cmdline: '"/hello.js' })).message).toMatch(/^--cmdline: command line: unterminated " quote/);
    expect((await failure('hello', { cmdline: `/hello.js ${'x'.repeat(4096)}` })).code).toBe('TOO_LARGE');
    expect((await failure('hello', { cpus: 0 })).code).toBe('USAGE');
  });

  it('refuses unknown modules in the options', async () => {
    const e = await failure('hello', { modules: ['kernel', 'ghost'] });
    expect(e.message).toBe("unknown module 'ghost' in --modules — known modules: kernel, libc, mmu, netchannel, sched");
  });
});

describe('reproducible builds', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'osv-repro-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('gives the same bytes for the same inputs, wherever the app is', async () => {
    const first = await build('hello');
    const second = await build('hello');
    expect(Buffer.compare(first.image, second.image)).toBe(0);
    for (const where of ['one', 'two/deeper']) cpSync(fixtureApp('hello'), join(scratch, where), { recursive: true });
    const a = await buildImage({ app: join(scratch, 'one'), modulePackages: FIXTURE_MODULES });
    const b = await buildImage({ app: join(scratch, 'two/deeper'), modulePackages: FIXTURE_MODULES });
    expect(Buffer.compare(a.image, b.image)).toBe(0);
    expect(Buffer.compare(a.image, first.image)).toBe(0);
  });

  it('changes when an input changes', async () => {
    cpSync(fixtureApp('hello'), join(scratch, 'three'), { recursive: true });
    const before = await buildImage({ app: join(scratch, 'three'), modulePackages: FIXTURE_MODULES });
    writeFileSync(join(scratch, 'three', 'motd.txt'), 'Changed.\n');
    const after = await buildImage({ app: join(scratch, 'three'), modulePackages: FIXTURE_MODULES });
    expect(Buffer.compare(before.image, after.image)).not.toBe(0);
  });

  it('refuses a file that takes the bundle path', async () => {
    cpSync(fixtureApp('hello'), join(scratch, 'clash'), { recursive: true });
    writeFileSync(join(scratch, 'clash', 'osv-app.json'), JSON.stringify({ name: 'clash', entry: 'src/hello.ts', files: { '/hello.js': 'motd.txt' } }));
    await expect(buildImage({ app: join(scratch, 'clash'), modulePackages: FIXTURE_MODULES })).rejects.toThrow(/app clash: rofs: cannot add \/hello.js: it is already in the volume/);
  });
});

describe('the real modules', () => {
  it('bundles the workspace kernel with every module selected', async () => {
    const r = await buildImage({ app: join(fixtureApp('single'), 'tool.ts'), modules: ['libc', 'mmu', 'netchannel', 'sched', 'virtio', 'zfs-lite'] });
    const image = readImage(r.image, 'tool.img');
    expect(image.manifest.modules.map((m) => m.package)).toEqual([
      '@osv-ts/kernel', '@osv-ts/libc-musl-ts', '@osv-ts/mmu', '@osv-ts/netchannel', '@osv-ts/sched', '@osv-ts/virtio', '@osv-ts/zfs-lite',
    ]);
    expect(image.kernelSource).toContain('globalThis.__osvKernelStart = (hw) =>');
    expect(image.kernelSource).toContain('// packages/kernel/src/boot.ts');
  });
});
