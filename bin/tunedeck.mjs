#!/usr/bin/env node
// `tunedeck` (npx tunedeck in a checkout): the command line of a running Tunedeck.
// The command itself is built with the app (electron-vite) into out/main/cli.js.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const built = join(dirname(fileURLToPath(import.meta.url)), '..', 'out', 'main', 'cli.js')
if (!existsSync(built)) {
  process.stderr.write(`tunedeck: the command line is not built (${built} is missing): run npm run build in the Tunedeck folder.\n`)
  process.exit(1)
}
await import(pathToFileURL(built).href)
