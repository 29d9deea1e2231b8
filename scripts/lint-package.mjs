#!/usr/bin/env node
// Lint for one workspace package, run from its folder:
//  - an import cycle among its source files, or among workspace packages, fails;
//  - guest-side code (every package but hv and image-builder, outside host/,
//    tests and bench/) must not import Node's host APIs (DESIGN.md section 2);
//  - publishable packages must pass publint.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname, resolve, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const pkgDir = process.cwd();
const root = resolve(pkgDir, '../..');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const isPrivate = process.argv.includes('--private') || pkg.private === true;
const hostPackages = new Set(['@osv-ts/hv', '@osv-ts/image-builder']);
const problems = [];

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const importRe = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s*['"]([^'"]+)['"]/g;
function importsOf(file) {
  const src = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specs = [];
  for (const m of src.matchAll(importRe)) specs.push(m[1] ?? m[2] ?? m[3]);
  return specs;
}

// 1. File-level cycles (type-only imports count too: they still tangle layers).
const files = walk(join(pkgDir, 'src'));
const graph = new Map();
for (const f of files) {
  const edges = [];
  for (const spec of importsOf(f)) {
    if (!spec.startsWith('.')) continue;
    const base = resolve(dirname(f), spec).replace(/\.js$/, '');
    for (const cand of [base + '.ts', join(base, 'index.ts')]) if (graph.has(cand) || files.includes(cand)) { edges.push(cand); break; }
  }
  graph.set(f, edges);
}
const state = new Map();
const stack = [];
function dfs(n) {
  state.set(n, 1); stack.push(n);
  for (const m of graph.get(n) ?? []) {
    if (state.get(m) === 1) {
      const cyc = stack.slice(stack.indexOf(m)).concat(m).map((x) => relative(pkgDir, x));
      problems.push(`import cycle: ${cyc.join(' -> ')}`);
    } else if (!state.has(m)) dfs(m);
  }
  stack.pop(); state.set(n, 2);
}
for (const f of files) if (!state.has(f)) dfs(f);

// 2. Package-level cycles across the workspace.
const ws = new Map();
for (const group of ['packages', 'apps', 'examples']) {
  const gdir = join(root, group);
  if (!existsSync(gdir)) continue;
  for (const d of readdirSync(gdir)) {
    const pj = join(gdir, d, 'package.json');
    if (!existsSync(pj)) continue;
    const j = JSON.parse(readFileSync(pj, 'utf8'));
    ws.set(j.name, Object.keys({ ...j.dependencies, ...j.devDependencies }).filter((x) => x.startsWith('@osv-ts/')));
  }
}
const seen = new Set();
function reach(name, path) {
  for (const dep of ws.get(name) ?? []) {
    if (dep === pkg.name) problems.push(`package cycle: ${[...path, dep].join(' -> ')}`);
    else if (!seen.has(dep)) { seen.add(dep); reach(dep, [...path, dep]); }
  }
}
reach(pkg.name, [pkg.name]);

// 3. Guest code never imports Node host APIs.
if (!hostPackages.has(pkg.name)) {
  const hostMods = /^(node:)?(fs|net|os|child_process|worker_threads|process|dgram|http|https|http2|crypto|tls|cluster|vm|v8|perf_hooks|readline|inspector|module|dns)(\/.*)?$/;
  for (const f of files) {
    const rel = relative(pkgDir, f);
    if (/\.test\.ts$/.test(rel) || rel.split('/').includes('host') || rel.startsWith('bench/')) continue;
    for (const spec of importsOf(f)) if (hostMods.test(spec)) problems.push(`${rel}: guest code imports host API '${spec}'`);
    if (/\brequire\s*\(/.test(readFileSync(f, 'utf8').replace(/\/\/.*$/gm, ''))) problems.push(`${rel}: guest code calls require()`);
  }
}

// 4. publint for what we publish.
if (!isPrivate) {
  const r = spawnSync(join(root, 'node_modules', '.bin', 'publint'), ['--strict'], { cwd: pkgDir, encoding: 'utf8' });
  if (r.status !== 0) problems.push(`publint:\n${r.stdout}${r.stderr}`);
}

if (problems.length) {
  console.error(`${pkg.name}: lint failed\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`${pkg.name}: lint ok (${files.length} files)`);
