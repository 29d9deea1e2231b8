import type { Options } from 'tsup';

/**
 * The one tsup configuration every package uses: ESM only, .d.ts beside each
 * entry, no bundling of workspace or npm dependencies (they stay imports, so a
 * consumer gets one copy of each subsystem).
 */
export function packageConfig(entry: Record<string, string>): Options {
  return {
    entry,
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    // Declarations only: host/ entries need Node's types; guest purity is
    // checked by tsc -b (guest projects have no Node types) and the lint.
    dts: { compilerOptions: { composite: false, incremental: false, types: ['node'] } },
    sourcemap: true,
    clean: true,
    splitting: true,
    treeshake: false,
    outDir: 'dist',
  };
}
