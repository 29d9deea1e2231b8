#!/usr/bin/env node
/**
 * osv-run: boots an osv-ts image on the bundled virtual machine, QEMU-style.
 * The guest's console is this process's stdout and stdin; its exit code is
 * this process's.
 */
import { parseArgs } from 'node:util';
import { HvError } from './errors.js';
import { Machine } from './machine.js';

const USAGE = `usage: osv-run IMAGE [options]

Boots an osv-ts image (made by osv-build) on the bundled virtual machine.
The guest's console is this terminal; osv-run exits with the guest's exit code.

options:
  -m, --memory SIZE     guest memory, like 256M or 1G (default: the image's, else 256M)
  -c, --cpus N          number of vCPUs, 1-64 (default: the image's, else 1)
      --cmdline TEXT    command line instead of the image's default, e.g. "/hello.js --exit 7"
      --boot-trace      print the boot timeline to stderr when the guest exits
  -h, --help            show this help
  -v, --version         show the version
`;

/** Runs osv-run with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  // The command line usually starts with "--" options of its own
  // (--env=..., --verbose), which parseArgs would take for ours: bind the
  // value to the flag first.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--cmdline' && i + 1 < argv.length) args.push(`--cmdline=${argv[++i]}`);
    else args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        memory: { type: 'string', short: 'm' },
        cpus: { type: 'string', short: 'c' },
        cmdline: { type: 'string' },
        'boot-trace': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (e) {
    process.stderr.write(`osv-run: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
    process.stdout.write(`osv-run ${pkg.version}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`osv-run: ${positionals.length === 0 ? 'no image given' : `one image at a time (got ${positionals.join(', ')})`}\n${USAGE}`);
    return 2;
  }
  const cpus = values.cpus === undefined ? undefined : Number(values.cpus);
  if (cpus !== undefined && !/^\d+$/.test(values.cpus ?? '')) {
    process.stderr.write(`osv-run: --cpus: '${values.cpus}' is not a whole number\n`);
    return 2;
  }
  let machine: Machine;
  try {
    machine = await Machine.boot({
      image: positionals[0]!,
      ...(values.memory !== undefined ? { memory: values.memory } : {}),
      ...(cpus !== undefined ? { cpus } : {}),
      ...(values.cmdline !== undefined ? { cmdline: values.cmdline } : {}),
      stdout: process.stdout,
      log: (m) => process.stderr.write(`osv-run: ${m}\n`),
    });
  } catch (e) {
    if (e instanceof HvError) {
      process.stderr.write(`osv-run: ${e.message}\n`);
      return e.code === 'BAD_OPTION' ? 2 : 1;
    }
    throw e;
  }
  const onSignal = (): void => void machine.kill();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const exit = await machine.wait();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (values['boot-trace']) process.stderr.write(`${JSON.stringify(machine.timeline(), null, 2)}\n`);
  return exit.code;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`osv-run: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 70;
  },
);
