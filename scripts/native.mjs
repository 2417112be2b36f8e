#!/usr/bin/env node
// better-sqlite3 and node-pty are native modules built for one runtime at a time:
// plain Node for `serve` and the tests, Electron for the desktop app. This script
// rebuilds them for the runtime about to start, only when they don't load there.
//   node scripts/native.mjs node|electron
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const marker = join(root, 'node_modules', '.tunedeck-native-target')
const target = process.argv[2]
if (target !== 'node' && target !== 'electron') {
  console.error('usage: node scripts/native.mjs node|electron')
  process.exit(2)
}

const modules = ['better-sqlite3', 'node-pty']
const current = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : 'node'

function loadsInNode() {
  const probe = "require('better-sqlite3')(':memory:').close(); require('node-pty')"
  return spawnSync(process.execPath, ['-e', probe], { cwd: root, stdio: 'ignore' }).status === 0
}

function run(command, args) {
  console.log(`> ${command} ${args.join(' ')}`)
  execFileSync(command, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
}

if (target === 'node') {
  if (current === 'node' && loadsInNode()) process.exit(0)
  run('npm', ['rebuild', ...modules])
} else {
  if (current === 'electron') process.exit(0)
  // Needs Electron's headers, which electron-rebuild downloads on first use.
  run('npx', ['electron-rebuild', '--force', '--only', modules.join(',')])
}
writeFileSync(marker, `${target}\n`)
