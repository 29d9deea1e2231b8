/**
 * Guest code (everything outside host/, tests and bench/) must run inside the
 * hv's vCPU realm, which has only the ECMAScript built-ins: no Node modules,
 * no require, no host globals (setTimeout, process, performance, console).
 * Two proofs: the guest sources type-check with no ambient Node types, and the
 * bundled guest code runs a multi-CPU simulation inside a bare `vm` context.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import ts from 'typescript';
import { build } from 'esbuild';

const srcDir = dirname(fileURLToPath(import.meta.url));

function guestFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'host') guestFiles(p, out);
    } else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && name !== 'host.ts') out.push(p);
  }
  return out;
}

describe('guest code', () => {
  it('type-checks without Node types (no host globals, no node: imports)', () => {
    const base = ts.readConfigFile(join(srcDir, '../../../tsconfig.base.json'), (f) => ts.sys.readFile(f));
    const parsed = ts.parseJsonConfigFileContent(base.config, ts.sys, join(srcDir, '../../..'));
    const options: ts.CompilerOptions = { ...parsed.options, types: [], noEmit: true, composite: false, declaration: false, declarationMap: false, emitDeclarationOnly: false };
    delete options.customConditions;
    options.customConditions = ['@osv-ts/source'];
    const program = ts.createProgram(guestFiles(srcDir), options);
    const diags = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diags).toEqual([]);
  });

  it('runs in a realm holding only the ECMAScript built-ins', async () => {
    const r = await build({
      stdin: { contents: "export * from './index.ts'; export { Simulation } from './sim.ts';", resolveDir: srcDir, loader: 'ts' },
      bundle: true,
      format: 'iife',
      globalName: 'osvSched',
      platform: 'neutral',
      write: false,
      logLevel: 'silent',
    });
    const ctx = vm.createContext(Object.create(null) as object);
    vm.runInContext(r.outputFiles[0]!.text, ctx);
    const run = vm.runInContext(
      `(async () => {
        const { Simulation } = osvSched;
        const sim = new Simulation({ cpus: 2 });
        const s = sim.sched;
        const a = s.semaphore(0), b = s.semaphore(0), m = s.mutex();
        let n = 0;
        s.spawn(async () => { for (let i = 0; i < 100; i++) { a.post(); await b.wait(); await m.lock(); n++; m.unlock(); } }, { cpu: 0 });
        s.spawn(async () => { for (let i = 0; i < 100; i++) { await a.wait(); b.post(); await sim.compute(1e5); } }, { cpu: 1 });
        const hog = s.spawn(async () => { await sim.compute(5e7); return typeof process + typeof setTimeout + typeof require; }, { cpu: 1 });
        let seen = '';
        s.spawn(async () => { seen = await hog.join(); });
        const res = await sim.run();
        return { n, seen, quiescent: res.quiescent, corrupt: s.corruptCount() };
      })`,
      ctx,
    ) as () => Promise<{ n: number; seen: string; quiescent: boolean; corrupt: number }>;
    const out = await run();
    expect(out.n).toBe(100);
    expect(out.seen).toBe('undefinedundefinedundefined');
    expect(out.quiescent).toBe(true);
    expect(out.corrupt).toBe(0);
  });
});
