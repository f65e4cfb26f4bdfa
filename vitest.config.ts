import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // Most of the suite's time is spent in the `backprop` processes the CLI tests start, while their
    // test file waits: two files at a time keep both cores of a 2-core machine busy (vitest's own
    // default, one fewer than the cores, would run one file at a time there).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    setupFiles: ['test/setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
