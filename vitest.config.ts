import { defineConfig } from 'vitest/config';

/** The whole workspace in one run: each package is a vitest project. */
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'examples/*/vitest.config.ts'],
  },
});
