// The benchmarks as vitest files: smoke sizes by default (npm test's bench-smoke stage),
// the sizes docs/benchmarks.md records with BENCH=full. Numbers are printed, not asserted.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { alias: { '@shared': fileURLToPath(new URL('../electron/shared', import.meta.url)) } },
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['bench/**/*.test.ts'],
    testTimeout: 1_200_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
})
