#!/usr/bin/env node
// `npm test`: every check and test in the order that fails fastest, then one
// closing line that counts them all: "total: N passed, N failed, N skipped".
//   typecheck + lint + format (Prettier, ruff format and ruff check; `npm run format` fixes the layout)
//   + electronegativity -> build -> vitest (contract, host, renderer logic)
//   -> pytest (trainer) -> vitest e2e (Playwright + chromium against serve)
//   -> bench smoke (bench/*.test.ts at small sizes: every benchmark runs, its numbers are printed, not asserted)
//   -> clean checkout (tests write only to temporary folders and the ignored test-results/: a run that
//      changes a file git tracks or adds one it would see fails, naming it; docs/screenshot.png is
//      remade by `npm run screenshot` alone)
// Set TUNEDECK_PYTHON to the trainer's Python (.ci/run does).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { changedFiles, checkoutState } from './checkoutState.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const results = join(root, 'test-results')
rmSync(results, { recursive: true, force: true })
mkdirSync(results, { recursive: true })

const before = checkoutState(root)
const totals = { passed: 0, failed: 0, skipped: 0 }
const failures = []

function run(name, command, args) {
  const started = Date.now()
  console.log(`\n=== ${name}: ${command} ${args.join(' ')}`)
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  const ok = result.status === 0
  console.log(`=== ${name}: ${ok ? 'ok' : `failed (exit ${result.status ?? result.signal})`} in ${seconds}s`)
  if (!ok) failures.push(name)
  return ok
}

/** A check that is not a test runner counts as one test. */
function check(name, command, args) {
  if (run(name, command, args)) totals.passed += 1
  else totals.failed += 1
}

function countVitest(file, name) {
  if (!existsSync(file)) {
    totals.failed += 1
    failures.push(`${name} (no report)`)
    return
  }
  const report = JSON.parse(readFileSync(file, 'utf8'))
  totals.passed += report.numPassedTests
  totals.failed += report.numFailedTests
  totals.skipped += report.numPendingTests + report.numTodoTests
  if (report.numFailedTestSuites > 0 && report.numFailedTests === 0) totals.failed += report.numFailedTestSuites
}

function countJunit(file, name) {
  if (!existsSync(file)) {
    totals.failed += 1
    failures.push(`${name} (no report)`)
    return
  }
  const xml = readFileSync(file, 'utf8')
  const suite = /<testsuite\b[^>]*>/.exec(xml)?.[0] ?? ''
  const attribute = (key) => Number(new RegExp(`\\b${key}="(\\d+)"`).exec(suite)?.[1] ?? 0)
  const failed = attribute('failures') + attribute('errors')
  const skipped = attribute('skipped')
  totals.failed += failed
  totals.skipped += skipped
  totals.passed += attribute('tests') - failed - skipped
}

const npx = 'npx'
check('typecheck', npx, ['tsc', '-p', 'tsconfig.node.json', '--noEmit'])
check('typecheck-web', npx, ['tsc', '-p', 'tsconfig.web.json', '--noEmit'])
check('lint', npx, ['eslint', '.'])
check('format', 'node', ['scripts/format.mjs', '--check'])
check('electronegativity', 'node', ['scripts/electronegativity.mjs'])
check('native', 'node', ['scripts/native.mjs', 'node'])
check('build', npx, ['electron-vite', 'build'])

const unitReport = join(results, 'vitest.json')
run('vitest', npx, ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${unitReport}`])
countVitest(unitReport, 'vitest')

const junit = join(results, 'pytest.xml')
run('pytest', 'node', ['scripts/python.mjs', '-m', 'pytest', '-q', 'tests/trainer', `--junitxml=${junit}`])
countJunit(junit, 'pytest')

const e2eReport = join(results, 'e2e.json')
run('e2e', npx, [
  'vitest',
  'run',
  '--config',
  'vitest.e2e.config.ts',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${e2eReport}`,
])
countVitest(e2eReport, 'e2e')

const benchReport = join(results, 'bench.json')
run('bench-smoke', npx, [
  'vitest',
  'run',
  '--config',
  'bench/vitest.config.ts',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${benchReport}`,
])
countVitest(benchReport, 'bench-smoke')

const after = checkoutState(root)
if (before && after) {
  const changed = changedFiles(before, after)
  console.log(`\n=== clean checkout: ${changed.length === 0 ? 'ok' : `failed: the run changed ${changed.join(', ')}`}`)
  if (changed.length === 0) totals.passed += 1
  else {
    totals.failed += 1
    failures.push('clean checkout')
  }
}

if (failures.length > 0) console.log(`\nFailed stages: ${failures.join(', ')}`)
console.log(`\ntotal: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`)
process.exit(totals.failed > 0 || failures.length > 0 ? 1 : 0)
