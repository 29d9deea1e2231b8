import { defineConfig } from 'vitest/config';

/**
 * Shared vitest settings: tests read workspace packages from their sources
 * through the private `@osv-ts/source` export condition, so no build is needed
 * for the code under test (the hv's vCPU worker is the exception: a worker
 * thread cannot load TypeScript, so it runs from dist/).
 */
export default defineConfig({
  resolve: { conditions: ['@osv-ts/source', 'module', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['@osv-ts/source', 'module', 'node', 'import', 'default'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // A package whose implementation is still to come may have no tests yet.
    passWithNoTests: true,
  },
});
