/**
 * electron-vite builds four things into out/: main (the shell, the host's two
 * entries: utility process for the app and serve for headless, and the
 * `tunedeck` command line), the preload and the renderer. The host and the
 * command line sit in the main build because they are Node targets; they
 * must not import electron (lint enforces it).
 */
import { resolve } from 'node:path'
import { defineConfig, externalizeDepsPlugin } from 'electron-vite'
import react from '@vitejs/plugin-react'

/** The contract is imported as @shared (tsconfig.base.json says the same to TypeScript). */
const resolveShared = { alias: { '@shared': resolve(__dirname, 'electron/shared') } }

export default defineConfig({
  main: {
    resolve: resolveShared,
    plugins: [externalizeDepsPlugin()],
    build: {
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'electron/main/index.ts'),
          host: resolve(__dirname, 'electron/host/utility.ts'),
          serve: resolve(__dirname, 'electron/host/serve.ts'),
          cli: resolve(__dirname, 'electron/cli/main.ts'),
        },
      },
    },
  },
  preload: {
    resolve: resolveShared,
    plugins: [externalizeDepsPlugin()],
    build: {
      rollupOptions: {
        input: { index: resolve(__dirname, 'electron/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'renderer'),
    resolve: resolveShared,
    plugins: [react()],
    build: {
      rollupOptions: { input: { index: resolve(__dirname, 'renderer/index.html') } },
    },
  },
})
