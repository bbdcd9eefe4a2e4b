import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores: one worker on CI's two cores, where most of a test file's
    // time is spent waiting on the processes and services it drives (CLIs, workers, MLflow, PostgreSQL), not on the
    // CPU. Two files at a time on two cores: 420 s wall for 680 s of test files (1,411 tests, 2026-12-01).
    // Files keep to their own stores (a schema or temp file each), Redis prefixes and ports, so they may overlap.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts', 'commands/**/*.ts', 'pipelines/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: { lines: 80 },
    },
  },
});
