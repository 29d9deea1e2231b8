#!/usr/bin/env node
// The README's first command: build the packages, make the demo image with
// osv-build and boot it with osv-run on the bundled virtual machine. Extra
// arguments go to osv-run (pnpm demo --cpus 2 --cmdline "/hello.js --exit 7").
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts }).status ?? 1;

const image = join(root, 'hello.img');
let status = run(join(root, 'node_modules/.bin/turbo'), ['run', 'build', '--output-logs=errors-only', '--filter=@osv-ts/hv...', '--filter=@osv-ts/image-builder...']);
if (status !== 0) process.exit(status);
status = run(process.execPath, [join(root, 'packages/image-builder/dist/cli.js'), join(root, 'examples/hello'), '-o', image]);
if (status !== 0) process.exit(status);
console.log(`\n$ osv-run hello.img ${process.argv.slice(2).join(' ')}`);
process.exit(run(process.execPath, [join(root, 'packages/hv/dist/cli.js'), image, ...process.argv.slice(2)]));
