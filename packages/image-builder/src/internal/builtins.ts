/**
 * The built-in capture wrapper. Guest code runs in a `vm` context, where
 * looking a built-in up as a global (`Math`, `Uint8Array`) goes through the
 * context's interceptor and was measured 14–30x slower than in the main realm;
 * a closure variable is as fast as anywhere. So every bundle osv-build writes
 * is wrapped to capture the built-ins once, in module scope:
 *
 *   (() => {
 *   "use strict";
 *   const { AggregateError, Array, ... } = globalThis;
 *   (() => {
 *   <bundle>
 *   })();
 *   })();
 *
 * The inner function gives the bundle its own scope, so a top-level
 * declaration of the same name as a built-in shadows it instead of clashing.
 * "use strict" keeps the ES-module semantics the sources were written for.
 */

import vm from 'node:vm';

/** Globals a bundle must keep reaching through the global object. */
const NOT_CAPTURED = new Set(['globalThis', 'console', 'undefined', 'NaN', 'Infinity', 'eval']);
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

let cached: readonly string[] | undefined;

/**
 * The ECMAScript built-ins a fresh `vm` context has, as this Node version
 * defines them, sorted; minus those in NOT_CAPTURED and any name that is not
 * a plain identifier.
 */
export function contextBuiltins(): readonly string[] {
  cached ??= Object.freeze(
    Object.getOwnPropertyNames(vm.runInNewContext('globalThis') as object)
      .filter((name) => IDENTIFIER.test(name) && !NOT_CAPTURED.has(name))
      .sort(),
  );
  return cached;
}

function declaration(names: readonly string[]): string {
  const lines: string[] = [];
  let line = '';
  for (const name of names) {
    if (line.length + name.length > 96) {
      lines.push(line);
      line = '';
    }
    line += `${name}, `;
  }
  lines.push(line);
  return `const {\n${lines.map((l) => `  ${l.trimEnd()}`).join('\n')}\n} = globalThis;`;
}

/**
 * Wraps bundle `code` so the given built-ins are captured once from the
 * realm's global object (see the file comment).
 */
export function wrapWithBuiltins(code: string, builtins: readonly string[] = contextBuiltins()): string {
  return `(() => {\n"use strict";\n${declaration(builtins)}\n(() => {\n${code.endsWith('\n') ? code : `${code}\n`}})();\n})();\n`;
}
