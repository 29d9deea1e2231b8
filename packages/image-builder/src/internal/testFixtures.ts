/**
 * Test support (not exported): paths of the fixture apps and module packages
 * under test-fixtures/. The fixture modules stand in for the real ones with
 * marker strings, so tests can see which modules a bundle holds.
 */

import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The test-fixtures folder. */
export const FIXTURES = fileURLToPath(new URL('../../test-fixtures', import.meta.url));

/** A fixture app's path. */
export function fixtureApp(name: string): string {
  return join(FIXTURES, 'apps', name);
}

/** Folders of the fixture module packages: kernel, sched, mmu, netchannel (requires sched), libc (requires kernel). */
export const FIXTURE_MODULES: readonly string[] = ['kernel', 'sched', 'mmu', 'netchannel', 'libc'].map((d) => join(FIXTURES, 'modules', d));

/** The marker string each fixture module's index holds, by module name. */
export const MARKERS: Readonly<Record<string, string>> = {
  kernel: 'fixture-kernel-index',
  sched: 'fixture-sched-index',
  mmu: 'fixture-mmu-index',
  netchannel: 'fixture-netchannel-index',
  libc: 'fixture-libc-index',
};
