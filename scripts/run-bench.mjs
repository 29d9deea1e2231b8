#!/usr/bin/env node
// Runs every bench/*.ts of the package in the current folder, one after the
// other, each in its own Node process (so one benchmark's JIT state and heap
// do not colour the next). Sources are read through the @osv-ts/source
// condition; the hv's vCPU worker runs from dist/ (turbo builds it first).
import { readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const dir = join(process.cwd(), 'bench');
if (!existsSync(dir)) { console.log('no benchmarks in this package'); process.exit(0); }
const tsx = resolve(process.cwd(), '../../node_modules/.bin/tsx');
const only = process.argv[2];
let status = 0;
for (const f of readdirSync(dir).filter((n) => /\.bench\.ts$/.test(n)).sort()) {
  if (only && !f.includes(only)) continue;
  console.log(`\n== ${f}`);
  const r = spawnSync(tsx, ['--conditions=@osv-ts/source', join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) status = 1;
}
process.exit(status);
