import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:faults`, docs/faults.md): kills, storage outages, clock skew and
 * alert storms against the whole local stack. Apart from `npm test`: it takes minutes, not seconds.
 * Files run one at a time: each starts its own stack, and the faults are timing-sensitive.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 180_000,
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: 'test-results/vitest-faults.json' }]]
      : ['default'],
  },
});
