#!/usr/bin/env node
// Runs the trainer's Python (TUNEDECK_PYTHON, else python3) with python-runtime on
// PYTHONPATH, so `npm run test:trainer` and scripts use the same interpreter as the host.
//   node scripts/python.mjs -m pytest -q tests/trainer
import { spawnSync } from 'node:child_process'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const python = process.env.TUNEDECK_PYTHON || (process.platform === 'win32' ? 'python' : 'python3')
const pythonPath = [join(root, 'python-runtime'), process.env.PYTHONPATH].filter(Boolean).join(delimiter)
const result = spawnSync(python, process.argv.slice(2), {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PYTHONPATH: pythonPath, PYTHONUNBUFFERED: '1' },
})
if (result.error) {
  console.error(
    `Could not run ${python}: ${result.error.message}. Set TUNEDECK_PYTHON to a Python with python-runtime/requirements.txt installed.`,
  )
  process.exit(1)
}
process.exit(result.status ?? 1)
