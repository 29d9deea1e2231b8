/// <reference types="node" />
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// DESIGN.md §2: guest code sees only ECMAScript built-ins. The lint script checks imports;
// this checks the host globals a stray line could still reach (the type checker cannot,
// since host files and tests load Node's types into the same program).
const HOST_GLOBALS = /\b(setTimeout|setInterval|setImmediate|clearTimeout|clearInterval|clearImmediate|queueMicrotask|performance|Buffer|TextEncoder|TextDecoder|process|require|fetch|structuredClone|__dirname)\b/;

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('guest code', () => {
  it('uses no host globals outside host/ and tests', () => {
    const root = new URL('.', import.meta.url).pathname;
    const offenders: string[] = [];
    for (const f of walk(root)) {
      const rel = relative(root, f);
      if (rel.startsWith('host/') || rel.endsWith('.test.ts')) continue;
      const code = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').replace(/'[^'\n]*'|`[^`]*`/g, "''");
      const m = HOST_GLOBALS.exec(code);
      if (m) offenders.push(`${rel}: ${m[0]}`);
    }
    expect(offenders).toEqual([]);
  });
});
