import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite runs on its own: npm run test:faults (vitest.faults.config.mts).
    exclude: [...configDefaults.exclude, 'test/faults/**'],
    pool: 'forks',
    // Most e2e files wait on storage, processes and heartbeats rather than CPU: three files at a
    // time on 2 cores takes npm test from ~10 minutes to ~4.5 (vitest's default here would be 1).
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // In CI a JSON report as well, from which .ci/run prints its one-line summary.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.vitest-results.json' }]] : ['default'],
  },
});
