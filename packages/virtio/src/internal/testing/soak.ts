import { it } from 'vitest';

/**
 * Whether the long soak runs are on: `OSV_SOAK=1` (the root `test:soak`
 * script) sets it. Read through globalThis so the package's sources need no
 * Node type definitions.
 */
export const SOAK: boolean = Boolean((globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env['OSV_SOAK']);

/** Timeout for a soak test, ms: a few million fuzz cases take minutes on a loaded 2-core machine. */
export const SOAK_TIMEOUT = 3_600_000;

/**
 * Registers a fuzz property twice: at `runs` cases in the default run, and at
 * `soakRuns` cases behind OSV_SOAK. `check(numRuns)` runs the property.
 */
export function fuzzTest(name: string, runs: number, soakRuns: number, check: (numRuns: number) => void): void {
  it(name, () => check(runs), 60_000);
  // Soak: millions of cases take minutes, too long for the default run; CI's long stage sets OSV_SOAK.
  it.skipIf(!SOAK)(`${name} [soak: ${soakRuns} cases]`, () => check(soakRuns), SOAK_TIMEOUT);
}
