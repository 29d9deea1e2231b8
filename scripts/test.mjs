#!/usr/bin/env node
// The workspace's test command: build every package (the hv's vCPU worker and
// the CLIs run from dist/), run every vitest project in one run with the JSON
// reporter, and end with the plain summary line CI reads:
// "N passed, N failed" (", N skipped" when some were skipped).
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules', '.bin', name);
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });

const build = run(bin('turbo'), ['run', 'build', '--output-logs=errors-only']);
if (build.status !== 0) {
  console.log('build failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

mkdirSync(join(root, '.vitest-results'), { recursive: true });
const out = join(root, '.vitest-results', 'results.json');
const extra = process.argv.slice(2);
const test = run(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...extra]);

let passed = 0, failed = 0, skipped = 0;
if (existsSync(out)) {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  passed = r.numPassedTests ?? 0;
  failed = r.numFailedTests ?? 0;
  // A file that fails to load has no failed test in it but is a failure.
  if (failed === 0) failed = r.numFailedTestSuites ?? 0;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
} else {
  failed = 1;
}
if (test.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
