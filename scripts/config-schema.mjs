/**
 * Writes python-runtime/tunedeck_trainer/job_config.schema.json, the JSON Schema
 * the trainer validates config.json against, from electron/shared/config.ts (the
 * one place a field is written). Run after changing a field: npm run config-schema
 * (tests/shared/configSchema.test.ts fails while the checked-in file is stale).
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
export const schemaFile = path.join(root, 'python-runtime', 'tunedeck_trainer', 'job_config.schema.json')

// config.ts is TypeScript: bundle it (with zod) in memory and import the result.
const bundled = await build({
  entryPoints: [path.join(root, 'electron', 'shared', 'config.ts')],
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'node',
  logLevel: 'error',
})
const source = bundled.outputFiles[0].text
const { jobConfigJsonSchema } = await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`)
writeFileSync(schemaFile, JSON.stringify(jobConfigJsonSchema(), null, 2) + '\n')
console.log(`Wrote ${path.relative(root, schemaFile)}`)
