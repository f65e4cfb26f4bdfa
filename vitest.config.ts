import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { hangLimit } from './test/limits.ts';

/**
 * vitest's order (the slowest files of the last run first; without one, as in a fresh clone, the
 * largest files first), with the README's test first: a small file that runs every command the
 * README shows, the longest of the suite, which started last would run alone at the end.
 */
class ReadmeFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const readme = (f: TestSpecification) => f.moduleId.endsWith('/test/readme.test.ts');
    return [...sorted.filter(readme), ...sorted.filter((f) => !readme(f))];
  }
}

/**
 * Tests import our packages' TypeScript sources (the "@backprop/source" condition of their exports
 * maps, first), never a stale dist/; vitest also passes these conditions to its worker processes,
 * whose threads (the evaluation thread) then load the sources too. The other conditions are Vite's
 * defaults. The CLI runs as its users run it, compiled: globalSetup builds dist/ (incrementally)
 * before any test starts.
 */
const conditions = (environment: string) => ['@backprop/source', 'module', environment, 'development|production'];

export default defineConfig({
  resolve: { conditions: conditions('browser') },
  ssr: { resolve: { conditions: conditions('node') } },
  test: {
    globalSetup: ['test/build.ts'],
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // A limit for hangs only (test/limits.ts): the suite must pass on a busy machine.
    testTimeout: hangLimit,
    hookTimeout: hangLimit,
    pool: 'forks',
    // Most of the suite's time is spent in the `backprop` processes the CLI tests start, while their
    // test file waits: two files at a time keep both cores of a 2-core machine busy (vitest's own
    // default, one fewer than the cores, would run one file at a time there).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    sequence: { sequencer: ReadmeFirst },
    setupFiles: ['test/setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
