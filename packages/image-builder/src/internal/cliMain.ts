/**
 * The osv-build command: argument parsing, the build, the report. Exit codes:
 * 0 built, 1 build error, 2 usage error; every error is one line on stderr.
 */

import { parseArgs } from 'node:util';
import { BuildError } from './buildError.js';
import { builderPackage } from './builderPackage.js';
import { buildImage, type BuildOptions } from './buildImage.js';
import { writeImageFile } from './imageFile.js';
import { formatReport } from './report.js';
import { parseMemory } from './size.js';

/** Where the command writes. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Exit codes of osv-build. */
export const EXIT_OK = 0;
export const EXIT_BUILD_ERROR = 1;
export const EXIT_USAGE = 2;

/** The --help text. */
export const USAGE = `Usage: osv-build <app> -o <image> [options]

Links the kernel, the selected modules and one application into a bootable
osv-ts image. <app> is a folder holding osv-app.json, or a single .ts/.js file.

Options:
  -o, --output <image>   image file to write (required)
  --modules a,b,...      modules to link, replacing osv-app.json's list
                         (kernel is always linked; requirements are added)
  --cmdline "..."        default command line (default: osv-app.json's, else /<entry>.js)
  --memory <size>        guest memory the image asks for, e.g. 64M (default 64M)
  --cpus <n>             vCPUs the image asks for (default 1)
  -q, --quiet            print nothing but errors
  -h, --help             print this help
  --version              print osv-build's version
`;

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  modules: { type: 'string' },
  cmdline: { type: 'string' },
  memory: { type: 'string' },
  cpus: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

function usage(message: string): BuildError {
  return new BuildError('USAGE', `${message} — see osv-build --help`);
}

type Parsed = { app: string; output: string; quiet: boolean; options: Omit<BuildOptions, 'app'> } | 'help' | 'version';

/**
 * Joins `--cmdline VALUE` into `--cmdline=VALUE`: a command line often starts
 * with a kernel option ("--env=A=1 /app.js"), which parseArgs would otherwise
 * refuse as an ambiguous value.
 */
function joinCmdline(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (arg === '--cmdline' && i + 1 < argv.length) out.push(`--cmdline=${argv[++i] as string}`);
    else out.push(arg);
  }
  return out;
}

function parse(argv: readonly string[]): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args: joinCmdline(argv), options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    // parseArgs explains at length; its first sentence is the one line we print.
    throw usage(/^[^.]*/.exec((e as Error).message)?.[0] ?? 'bad arguments');
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  if (v.version === true) return 'version';
  if (parsed.positionals.length !== 1) throw usage(parsed.positionals.length === 0 ? 'no app given' : `one app at a time (got ${parsed.positionals.join(', ')})`);
  if (v.output === undefined || v.output === '') throw usage('no output image given (-o <image>)');
  const options: { -readonly [K in keyof BuildOptions]?: BuildOptions[K] } = {};
  if (v.modules !== undefined) {
    const names = v.modules.split(',').map((s) => s.trim());
    if (names.some((n) => n === '')) throw usage(`--modules: '${v.modules}' has an empty name`);
    options.modules = names;
  }
  if (v.cmdline !== undefined) options.cmdline = v.cmdline;
  if (v.memory !== undefined) options.memory = parseMemory(v.memory, '--memory');
  if (v.cpus !== undefined) {
    if (!/^\d+$/.test(v.cpus)) throw usage(`--cpus: '${v.cpus}' is not a whole number`);
    options.cpus = Number(v.cpus);
  }
  return { app: parsed.positionals[0] as string, output: v.output, quiet: v.quiet === true, options };
}

/**
 * Runs osv-build with `argv` (the arguments after the program name) and
 * returns its exit code. `overrides` replaces build options, for tests that
 * link fixture module packages.
 */
export async function runCli(argv: readonly string[], io: CliIo, overrides: Partial<BuildOptions> = {}): Promise<number> {
  try {
    const p = parse(argv);
    if (p === 'help') {
      io.stdout(USAGE);
      return EXIT_OK;
    }
    if (p === 'version') {
      io.stdout(`${builderPackage().version}\n`);
      return EXIT_OK;
    }
    const result = await buildImage({ ...p.options, ...overrides, app: p.app });
    await writeImageFile(p.output, result.image);
    if (!p.quiet) io.stdout(formatReport(result, p.output));
    return EXIT_OK;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    io.stderr(`osv-build: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    return e instanceof BuildError && e.code === 'USAGE' ? EXIT_USAGE : EXIT_BUILD_ERROR;
  }
}
