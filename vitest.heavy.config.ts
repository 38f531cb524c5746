import { defineConfig } from 'vitest/config';

/** `npm run test:heavy`: the suites too slow for `npm test` (packing and installing the package); CI runs it. */
export default defineConfig({
  test: {
    include: ['test/**/*.heavy.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
