import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { contextBuiltins, wrapWithBuiltins } from './builtins.js';

describe('contextBuiltins', () => {
  it('lists the ECMAScript built-ins of a vm context, sorted, without the excluded names', () => {
    const list = contextBuiltins();
    for (const name of ['Math', 'Uint8Array', 'Atomics', 'SharedArrayBuffer', 'JSON', 'Object', 'Array', 'parseInt']) expect(list).toContain(name);
    for (const name of ['globalThis', 'console', 'undefined', 'NaN', 'Infinity', 'eval', 'process', 'require', 'setTimeout']) expect(list).not.toContain(name);
    expect([...list].sort()).toEqual(list);
  });
});

describe('wrapWithBuiltins', () => {
  const run = (code: string, extra: Record<string, unknown> = {}): Record<string, unknown> => {
    const context = vm.createContext({ ...extra });
    vm.runInContext(wrapWithBuiltins(code), context);
    return context as Record<string, unknown>;
  };

  it('captures the built-ins once, so later changes to the globals do not reach the bundle', () => {
    const ctx = run('globalThis.f = () => Math.max(1, 2); globalThis.Math = { max: () => -1 };');
    expect((ctx['f'] as () => number)()).toBe(2);
  });

  it('lets the bundle declare a name a built-in has', () => {
    const ctx = run('var Map = 7; function Set() { return 8; } globalThis.r = Map + Set();');
    expect(ctx['r']).toBe(15);
  });

  it('runs the bundle in strict mode', () => {
    expect(() => run('undeclared = 1;')).toThrow(/undeclared is not defined/);
  });

  it('leaves console and globalThis to the realm', () => {
    const lines: unknown[] = [];
    run('console.log(typeof globalThis.Math);', { console: { log: (x: unknown) => lines.push(x) } });
    expect(lines).toEqual(['object']);
  });
});
