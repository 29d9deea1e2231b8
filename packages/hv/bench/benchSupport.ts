/**
 * What the hv benchmarks share: medians, booting a test app in-process and
 * reading the JSON line it prints, and a table printer.
 */
import { Machine, type MachineOptions } from '../src/machine.js';
import { lastJson } from '../src/testing/testImages.js';

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

/** Prints rows of [label, value, unit, ratio?] aligned. */
export function table(rows: readonly (readonly [string, number, string, number?])[]): void {
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [label, value, unit, ratio] of rows) {
    const v = value >= 100 ? value.toFixed(0) : value.toFixed(2);
    console.log(`${label.padEnd(w)}  ${v.padStart(10)} ${unit.padEnd(14)}${ratio === undefined ? '' : `ratio ${ratio.toFixed(2)}`}`);
  }
}
