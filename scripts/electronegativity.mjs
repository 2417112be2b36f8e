#!/usr/bin/env node
// Runs Electronegativity (Doyensec's Electron security linter) over electron/ and fails on any
// high or medium finding not explained in scripts/electronegativity-exceptions.json, or on an
// exception that no longer matches a finding (so the file cannot go stale).
//   node scripts/electronegativity.mjs
// The check that downloads Electron's release list is left out: tests run offline.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const electronVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version
const { exceptions } = JSON.parse(readFileSync(join(root, 'scripts', 'electronegativity-exceptions.json'), 'utf8'))
const folder = mkdtempSync(join(tmpdir(), 'electronegativity-'))
const report = join(folder, 'report.csv')

const result = spawnSync(
  'npx',
  [
    'electronegativity',
    '-i',
    'electron',
    '-r',
    '-e',
    electronVersion,
    '-x',
    'AvailableSecurityFixesGlobalCheck',
    '-v',
    'false',
    '-o',
    report,
  ],
  { cwd: root, encoding: 'utf8', shell: process.platform === 'win32' },
)
let text
try {
  text = readFileSync(report, 'utf8')
} catch {
  console.error(`Electronegativity wrote no report (exit ${result.status}):\n${result.stdout}\n${result.stderr}`)
  process.exit(1)
} finally {
  rmSync(folder, { recursive: true, force: true })
}

/** Splits one CSV line, honouring double quotes. */
function fields(line) {
  const values = []
  let current = ''
  let quoted = false
  for (let index = 0; index < line.length; index += 1) {
    const character = line[index]
    if (quoted && character === '"' && line[index + 1] === '"') {
      current += '"'
      index += 1
    } else if (character === '"') quoted = !quoted
    else if (character === ',' && !quoted) {
      values.push(current.trim())
      current = ''
    } else current += character
  }
  values.push(current.trim())
  return values
}

const findings = text
  .split('\n')
  .slice(1)
  .filter((line) => line.trim())
  .map((line) => {
    const [issue, severity, confidence, file, location, sample, description] = fields(line)
    return { issue, severity, confidence, file, location, sample, description }
  })
const serious = findings.filter((finding) => ['HIGH', 'MEDIUM'].includes(finding.severity))
const explained = (finding) => exceptions.some((exception) => exception.issue === finding.issue && exception.file === finding.file)
const open = serious.filter((finding) => !explained(finding))
const stale = exceptions.filter(
  (exception) => !serious.some((finding) => finding.issue === exception.issue && finding.file === exception.file),
)

console.log(
  `Electronegativity (Electron ${electronVersion}): ${findings.length} findings, ${serious.length} high or medium, ${serious.length - open.length} explained in scripts/electronegativity-exceptions.json`,
)
for (const finding of open) {
  console.log(
    `  ${finding.severity} ${finding.issue} at electron/${finding.file}:${finding.location}: ${finding.description}\n    ${finding.sample}`,
  )
}
for (const exception of stale) console.log(`  stale exception: ${exception.issue} in ${exception.file} matches no finding; remove it`)
if (open.length > 0) console.log('Fix each finding above, or explain it in scripts/electronegativity-exceptions.json.')
process.exit(open.length > 0 || stale.length > 0 ? 1 : 0)
