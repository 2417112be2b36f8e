#!/usr/bin/env node
// `npm run screenshot`: remakes docs/screenshot.png, the README's picture of the self-test job,
// by building and running the browser test that trains it (tests/e2e/selftest.test.ts), which
// copies its last screenshot to the path in TUNEDECK_SCREENSHOT. Tests alone never write into the
// checkout (scripts/test.mjs fails a run that changes it). Set TUNEDECK_PYTHON to the trainer's Python.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const target = join(root, 'docs', 'screenshot.png')
const shell = process.platform === 'win32'

function run(args, env = process.env) {
  const result = spawnSync('npx', args, { cwd: root, stdio: 'inherit', env, shell })
  if (result.status !== 0) {
    console.error(
      `npm run screenshot: npx ${args.join(' ')} failed (exit ${result.status ?? result.signal}); docs/screenshot.png is unchanged.`,
    )
    process.exit(1)
  }
}

run(['electron-vite', 'build'])
run(['vitest', 'run', '--config', 'vitest.e2e.config.ts', 'tests/e2e/selftest.test.ts'], { ...process.env, TUNEDECK_SCREENSHOT: target })
console.log(`Wrote ${target}`)
