/**
 * Benchmark helpers: time a body several times, take the median, print it
 * beside a baseline measured in the same run and the ratio to it.
 */
import { performance } from 'node:perf_hooks';

/** Runs `body(n)` `reps` times (after one warm-up) and returns the median ns per operation. */
export function medianNs(ops: number, body: (ops: number) => unknown, reps = 7): number {
  body(Math.max(1, Math.floor(ops / 10)));
  const times: number[] = [];
  let sink = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const v = body(ops);
    times.push(((performance.now() - t0) * 1e6) / ops);
    if (typeof v === 'number') sink += v;
  }
  if (sink === 0.5) console.log('');
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Prints one comparison: the measured case, its baseline and their ratio. */
export function report(name: string, ns: number, baselineName: string, baselineNs: number): void {
  const fmt = (v: number): string => (v < 10 ? v.toFixed(2) : v < 1000 ? v.toFixed(1) : v.toFixed(0));
  console.log(`${name.padEnd(44)} ${fmt(ns).padStart(9)} ns/op   baseline ${baselineName}: ${fmt(baselineNs)} ns/op   ratio ${(ns / baselineNs).toFixed(2)}x`);
}
