// Unit and integration tests of the contract, the host and the renderer's logic.
// Host tests start real trainers on CPU, so they run one file at a time.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // The contract is imported as @shared, as in tsconfig.base.json and electron.vite.config.ts.
  resolve: { alias: { '@shared': fileURLToPath(new URL('./electron/shared', import.meta.url)) } },
  test: {
    include: [
      'tests/shared/**/*.test.ts',
      'tests/cli/**/*.test.ts',
      'tests/host/**/*.test.ts',
      'tests/renderer/**/*.test.ts',
      'tests/renderer/**/*.test.tsx',
    ],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
})
