import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // *.heavy.test.ts (npm pack and installs) run in `npm run test:heavy`, which CI runs after `npm test`.
    exclude: ['**/node_modules/**', 'test/**/*.heavy.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites start real servers; two forks match the 2-core CI machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});
