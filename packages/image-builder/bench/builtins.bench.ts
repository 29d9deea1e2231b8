/**
 * What the built-in capture wrapper buys. The same Math/typed-array loop runs
 * in three places: the main realm (the baseline), a `vm` context as a plain
 * script (built-ins looked up as globals through the context), and a `vm`
 * context wrapped by wrapWithBuiltins (built-ins captured once in a closure).
 * Prints the median of several runs of each and its ratio to the baseline.
 */

import vm from 'node:vm';
import { wrapWithBuiltins } from '../src/index.js';

const ITERATIONS = 2_000_000;
const RUNS = 7;

// One source for all three, so the only difference is where the names resolve.
const SOURCE = `
globalThis.work = function work(n) {
  const a = new Float64Array(1024);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const j = i & 1023;
    a[j] = Math.sqrt(i) + Math.sin(i) * Math.PI;
    s += Math.floor(a[j]) ^ (Math.max(j, 7) | 0);
  }
  return s;
};
`;

type Work = (n: number) => number;

function inMainRealm(): Work {
  const holder = { work: undefined as Work | undefined };
  new Function('globalThis', SOURCE)(holder);
  return holder.work as Work;
}

function inContext(source: string): Work {
  const context = vm.createContext({});
  vm.runInContext(source, context);
  return (context as { work: Work }).work;
}

function median(work: Work): number {
  const times: number[] = [];
  let check = 0;
  work(10_000); // warm up
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    check ^= work(ITERATIONS);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (Number.isNaN(check)) throw new Error('unreachable: keeps the result alive');
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

const baseline = median(inMainRealm());
const plain = median(inContext(SOURCE));
const wrapped = median(inContext(wrapWithBuiltins(SOURCE)));

console.log(`Math/Float64Array loop, ${ITERATIONS} iterations, median of ${RUNS} runs`);
console.log(`  main realm (baseline)        ${baseline.toFixed(1)} ms  1.00x`);
console.log(`  vm context, global lookups   ${plain.toFixed(1)} ms  ${(plain / baseline).toFixed(2)}x`);
console.log(`  vm context, wrapWithBuiltins ${wrapped.toFixed(1)} ms  ${(wrapped / baseline).toFixed(2)}x`);
