/**
 * Writes what the trainer and the docs take from electron/shared (the contract): the config's
 * JSON Schema, the protocol's event schemas, contract.py (the config classes, the method and
 * dataset-format tables, the field names) and the lists in docs/architecture.md. See
 * scripts/contract/index.ts. Run after changing the contract: npm run config-schema
 * (tests/shared/configSchema.test.ts fails while a file is stale). The JSON comes out as Prettier lays it
 * out and contract.py in ruff format's layout, so `npm run format` leaves them as written.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { prettierText } from './prettierText.mjs'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

// The generator is TypeScript: bundle it (with zod) in memory and import the result.
const bundled = await build({
  entryPoints: [path.join(root, 'scripts', 'contract', 'index.ts')],
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'node',
  logLevel: 'error',
})
const source = bundled.outputFiles[0].text
const { contractFiles } = await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`)
let files
try {
  files = contractFiles((relative) => readFileSync(path.join(root, relative), 'utf8'))
} catch (error) {
  // The stack would name the in-memory bundle; the message says what is wrong.
  console.error(`config-schema: ${error.message}`)
  process.exit(1)
}
for (const file of files) {
  const target = path.join(root, file.path)
  let current = null
  try {
    current = readFileSync(target, 'utf8')
  } catch {
    // a new file
  }
  const text = await prettierText(file.path, file.text)
  if (current === text) continue
  writeFileSync(target, text)
  console.log(`Wrote ${file.path}`)
}
