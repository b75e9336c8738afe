import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite runs on its own: npm run test:faults (vitest.faults.config.mts).
    exclude: [...configDefaults.exclude, 'test/faults/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // In CI a JSON report as well, from which .ci/run prints its one-line summary.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.vitest-results.json' }]] : ['default'],
  },
});
