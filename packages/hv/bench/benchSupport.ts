/**
 * What the hv benchmarks share: medians, booting a test app in-process (or
 * in an osv-run child process) and reading the JSON line it prints, and a
 * table printer.
 */
import { spawn } from 'node:child_process';
import { Machine, type MachineOptions } from '../src/machine.js';
import { lastJson, OSV_RUN } from '../src/testing/testImages.js';

/** The median of `xs`. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Boots `image` with `cmdline` and the given options; resolves with the app's JSON line. */
export async function guest(image: string, cmdline: string, options: Omit<MachineOptions, 'image' | 'cmdline'> = {}): Promise<Record<string, number>> {
  const m = await Machine.boot({ image, cmdline, ...options, log: (l) => process.stderr.write(`hv: ${l}\n`) });
  let out = '';
  m.console.on('data', (c: Buffer) => (out += c.toString()));
  const exit = await m.wait();
  if (exit.code !== 0) throw new Error(`${cmdline}: exit ${exit.code}\n${out}`);
  return lastJson(out) as Record<string, number>;
}

/** A guest running in an osv-run child process. */
export interface GuestProcess {
  /** Resolves once the guest has printed `text`; rejects if it exits first. */
  printed(text: string): Promise<void>;
  /** Resolves with the guest's last JSON line once it exits with 0; rejects with its output otherwise. */
  readonly result: Promise<Record<string, number>>;
}

/**
 * Boots `image` with osv-run `args` in a child process: the hv's user
 * backend then has an event loop of its own (as QEMU's slirp lives in the
 * QEMU process), apart from the benchmark's host peer in this one.
 */
export function spawnGuest(image: string, args: readonly string[]): GuestProcess {
  const p = spawn(process.execPath, [OSV_RUN, image, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const waiting: { text: string; resolve: () => void }[] = [];
  p.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    for (let i = waiting.length - 1; i >= 0; i--) if (out.includes(waiting[i]!.text)) waiting.splice(i, 1)[0]!.resolve();
  });
  const result = new Promise<Record<string, number>>((resolve, reject) => {
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(lastJson(out) as Record<string, number>) : reject(new Error(`osv-run ${args.join(' ')}: exit ${code}\n${out}`))));
  });
  result.catch(() => {}); // reported through printed() or to whoever awaits result
  return {
    result,
    printed: (text) =>
      out.includes(text)
        ? Promise.resolve()
        : Promise.race([new Promise<void>((resolve) => waiting.push({ text, resolve })), result.then(() => Promise.reject(new Error(`osv-run ${args.join(' ')} exited without printing ${text}\n${out}`)))]),
  };
}

/** Prints rows of [label, value, unit, ratio?] aligned. */
export function table(rows: readonly (readonly [string, number, string, number?])[]): void {
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [label, value, unit, ratio] of rows) {
    const v = value >= 100 ? value.toFixed(0) : value.toFixed(2);
    console.log(`${label.padEnd(w)}  ${v.padStart(10)} ${unit.padEnd(14)}${ratio === undefined ? '' : `ratio ${ratio.toFixed(2)}`}`);
  }
}
