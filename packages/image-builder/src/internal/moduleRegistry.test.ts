import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModuleRegistry, selectModules } from './moduleRegistry.js';
import { resolveExport, splitSpecifier } from './moduleResolver.js';
import { FIXTURE_MODULES } from './testFixtures.js';

const names = (ms: { name: string }[]): string[] => ms.map((m) => m.name);

describe('the real module packages', () => {
  const registry = loadModuleRegistry();

  it('finds every osv-ts module osv-build depends on', () => {
    expect([...registry.modules.keys()]).toEqual(['kernel', 'libc', 'mmu', 'netchannel', 'sched', 'virtio', 'zfs-lite']);
    expect(registry.byPackage('@osv-ts/libc-musl-ts')?.name).toBe('libc');
    expect(registry.byPackage('@osv-ts/hv')).toBeUndefined();
  });

  it('always adds the kernel and closes over requires', () => {
    // The kernel's own requires (its drivers and subsystems) come along with it.
    const closed = (sel: readonly string[]): void => {
      for (const n of sel) for (const r of registry.modules.get(n)!.requires) expect(sel, `${n} requires ${r}`).toContain(r);
    };
    const base = names(selectModules(registry, [], 'test'));
    expect(base).toContain('kernel');
    expect(base).toContain('virtio');
    closed(base);
    const withLibc = names(selectModules(registry, ['libc'], 'test'));
    expect(withLibc).toEqual([...new Set([...base, 'libc'])].sort());
    closed(withLibc);
    const twice = names(selectModules(registry, ['sched', 'mmu', 'sched'], 'test'));
    expect(twice).toEqual([...new Set([...base, 'sched', 'mmu'])].sort());
  });

  it('refuses an unknown module, listing the known ones', () => {
    expect(() => selectModules(registry, ['nope'], '--modules')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_MODULE', message: "unknown module 'nope' in --modules — known modules: kernel, libc, mmu, netchannel, sched, virtio, zfs-lite" }),
    );
  });
});

describe('module packages from other folders', () => {
  const registry = loadModuleRegistry(FIXTURE_MODULES);
  const scratch = mkdtempSync(join(tmpdir(), 'osv-modules-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  function pkg(dir: string, json: object): string {
    mkdirSync(join(scratch, dir), { recursive: true });
    writeFileSync(join(scratch, dir, 'package.json'), JSON.stringify(json));
    return join(scratch, dir);
  }

  it('closes transitively over requires', () => {
    expect(names(selectModules(registry, ['netchannel'], 't'))).toEqual(['kernel', 'netchannel', 'sched']);
    expect(registry.modules.get('netchannel')?.devices).toEqual(['net']);
  });

  it('refuses a module that requires an unknown one', () => {
    const bad = loadModuleRegistry([...FIXTURE_MODULES, pkg('a', { name: '@osv-ts/a', version: '1.0.0', 'osv-ts': { module: 'a', requires: ['ghost'] } })]);
    expect(() => selectModules(bad, ['a'], 't')).toThrow(expect.objectContaining({ code: 'BAD_MODULE', message: "module 'a' (@osv-ts/a) requires unknown module 'ghost'" }));
  });

  it('refuses two packages with one module name, and a malformed osv-ts field', () => {
    const twin = pkg('twin', { name: '@osv-ts/twin', version: '1.0.0', 'osv-ts': { module: 'sched' } });
    expect(() => loadModuleRegistry([...FIXTURE_MODULES, twin])).toThrow(/packages @osv-ts\/sched and @osv-ts\/twin both provide module 'sched'/);
    const odd = pkg('odd', { name: '@osv-ts/odd', version: '1.0.0', 'osv-ts': { module: 'odd', requires: 'kernel' } });
    expect(() => loadModuleRegistry([odd])).toThrow(expect.objectContaining({ code: 'BAD_MODULE' }));
  });

  it('needs a kernel', () => {
    const empty = loadModuleRegistry([pkg('plain', { name: 'plain', version: '1.0.0' })]);
    expect(empty.modules.size).toBe(0);
    expect(() => selectModules(empty, [], 't')).toThrow(/no package provides the kernel module/);
  });
});

describe('export resolution', () => {
  const kernel = loadModuleRegistry(FIXTURE_MODULES).modules.get('kernel');

  it('splits specifiers', () => {
    expect(splitSpecifier('@osv-ts/kernel')).toEqual({ packageName: '@osv-ts/kernel', subpath: '.' });
    expect(splitSpecifier('@osv-ts/kernel/rofs')).toEqual({ packageName: '@osv-ts/kernel', subpath: './rofs' });
    expect(splitSpecifier('left-pad')).toBeUndefined();
  });

  it('follows conditions in the map order', () => {
    if (kernel === undefined) throw new Error('no fixture kernel');
    expect(resolveExport(kernel, './boot', ['@osv-ts/source', 'import', 'default'])).toBe(join(kernel.dir, 'src/boot.ts'));
    expect(resolveExport(kernel, './boot', ['import', 'default'])).toBe(join(kernel.dir, 'dist/boot.js'));
    expect(resolveExport(kernel, './nope', ['default'])).toBeUndefined();
    expect(resolveExport({ ...kernel, exports: './main.js' }, '.', ['default'])).toBe(join(kernel.dir, 'main.js'));
    expect(resolveExport({ ...kernel, exports: { './x': null } }, './x', ['default'])).toBeUndefined();
  });
});
