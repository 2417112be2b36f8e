#!/usr/bin/env node
// One formatter per language: Prettier for TypeScript, JavaScript, JSON, CSS, HTML, YAML and
// Markdown (.prettierrc.json, .prettierignore), ruff for Python (ruff.toml).
//   npm run format            rewrites the files: Prettier, ruff's import order, ruff format
//   node scripts/format.mjs --check
//                             (npm test's "format" stage) changes nothing; fails naming each
//                             file that is not formatted, and each ruff lint finding
// ruff runs in the trainer's Python (TUNEDECK_PYTHON, as scripts/python.mjs picks it), which
// has it from python-runtime/requirements-dev.txt.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const check = process.argv.includes('--check')

/** Runs one tool from the repository root; true when it exits 0. */
function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
  if (result.error) console.error(`Could not run ${command}: ${result.error.message}`)
  return result.status === 0
}

const prettier = (mode) => run('npx', ['prettier', mode, '--log-level', 'warn', '.'])
const ruff = (...args) => run('node', ['scripts/python.mjs', '-m', 'ruff', ...args])

if (!check) {
  // Import order is a lint rule in ruff (I001), not part of `ruff format`: fix it first, then lay out.
  const ok = [prettier('--write'), ruff('check', '--select', 'I', '--fix', '--quiet', '.'), ruff('format', '--quiet', '.')]
  process.exit(ok.every(Boolean) ? 0 : 1)
}

const problems = []
if (!prettier('--check')) problems.push('Prettier found files above that are not formatted')
if (!ruff('format', '--check', '--output-format', 'concise', '.'))
  problems.push('ruff format found Python files above that are not formatted')
const lintClean = ruff('check', '.')
if (problems.length > 0) console.error(`\n${problems.join('; ')}: run \`npm run format\` and commit the result.`)
if (!lintClean) {
  console.error(
    '\nruff check found the problems above (no module named ruff: install python-runtime/requirements-dev.txt into TUNEDECK_PYTHON).' +
      ' Import order is fixed by `npm run format`; `node scripts/python.mjs -m ruff check --fix .` fixes some of the rest.',
  )
}
process.exit(problems.length === 0 && lintClean ? 0 : 1)
