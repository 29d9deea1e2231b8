/**
 * The kernel command line, as OSv reads it: kernel options first (each starts
 * with `--`), then the program to run and its arguments.
 *
 *   [--env=NAME=VALUE]... [--verbose] /hello.js --exit 7
 *
 * Words are split on blanks; single or double quotes group words and a
 * backslash escapes the next character outside single quotes, as in a shell.
 */
import { KernelError } from '../errors.js';

/** A parsed command line. */
export interface CommandLine {
  /** The program's path in the root filesystem (argv[0]). */
  readonly program: string;
  /** argv: the program path, then its arguments. */
  readonly argv: readonly string[];
  /** Environment from --env options. */
  readonly env: Readonly<Record<string, string>>;
  /** Print the kernel's boot messages. */
  readonly verbose: boolean;
  /** `--halt-poll=NS`: the longest a vCPU's adaptive idle poll window grows to (0: no adaptation); undefined for the default. */
  readonly haltPollNs?: number;
  /**
   * `--net-rx-buffer=BYTES`: bytes per virtio-net receive buffer where the
   * device lets a frame span several (VIRTIO_NET_F_MRG_RXBUF); at least 12.
   * For tests and comparisons: undefined, the default, posts whole-frame buffers.
   */
  readonly netRxBufferBytes?: number;
}

/** Splits a command line into words. Throws KernelError BAD_CMDLINE on an unterminated quote. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new KernelError('BAD_CMDLINE', `command line: unterminated ${quote} quote in: ${text}`);
  if (inWord) words.push(word);
  return words;
}

/** Parses the command line. Throws KernelError BAD_CMDLINE naming what is wrong. */
export function parseCommandLine(text: string): CommandLine {
  const words = splitWords(text);
  const env: Record<string, string> = {};
  let verbose = false;
  let haltPollNs: number | undefined;
  let netRxBufferBytes: number | undefined;
  let i = 0;
  for (; i < words.length && words[i]!.startsWith('--'); i++) {
    const opt = words[i]!;
    if (opt.startsWith('--env=')) {
      const kv = opt.slice(6);
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new KernelError('BAD_CMDLINE', `command line: ${opt} should be --env=NAME=VALUE`);
      env[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (opt === '--verbose') {
      verbose = true;
    } else if (opt.startsWith('--halt-poll=')) {
      const v = opt.slice(12);
      if (!/^\d{1,10}$/.test(v)) throw new KernelError('BAD_CMDLINE', `command line: ${opt} should be --halt-poll=NS with NS a whole number of nanoseconds`);
      haltPollNs = Number(v);
    } else if (opt.startsWith('--net-rx-buffer=')) {
      const v = opt.slice(16);
      if (!/^\d{1,5}$/.test(v) || Number(v) < 12) throw new KernelError('BAD_CMDLINE', `command line: ${opt} should be --net-rx-buffer=BYTES with BYTES a whole number from 12 (the virtio-net header) to 99999`);
      netRxBufferBytes = Number(v);
    } else {
      throw new KernelError('BAD_CMDLINE', `command line: unknown kernel option ${opt} (known: --env=NAME=VALUE, --verbose, --halt-poll=NS, --net-rx-buffer=BYTES)`);
    }
  }
  const argv = words.slice(i);
  const program = argv[0];
  if (program === undefined) throw new KernelError('BAD_CMDLINE', 'command line names no program to run (for example: /hello.js)');
  if (!program.startsWith('/')) {
    throw new KernelError('BAD_CMDLINE', `command line: program '${program}' must be an absolute path in the root filesystem, like /${program}`);
  }
  return { program, argv, env, verbose, ...(haltPollNs === undefined ? {} : { haltPollNs }), ...(netRxBufferBytes === undefined ? {} : { netRxBufferBytes }) };
}
