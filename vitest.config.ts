import { defineConfig } from 'vitest/config';
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Lavapipe uses every core for each dispatch: running test files in parallel only adds contention.
    fileParallelism: false,
    pool: 'forks',
  },
});
