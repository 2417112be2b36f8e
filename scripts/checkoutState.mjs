// What `git status` shows of a checkout, to tell whether a test run changed it (scripts/test.mjs):
// tests write only to temporary folders and the ignored test-results/.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** Each changed or untracked path of the checkout at `root` (ignored ones aside) with a digest of its bytes; null outside git. */
export function checkoutState(root) {
  const status = spawnSync('git', ['status', '--porcelain=v1', '-z', '--untracked-files=all'], { cwd: root, encoding: 'utf8' })
  if (status.status !== 0) return null
  const state = new Map()
  const fields = status.stdout.split('\0').filter(Boolean)
  for (let index = 0; index < fields.length; index += 1) {
    const code = fields[index].slice(0, 2)
    const file = fields[index].slice(3)
    if (code.includes('R') || code.includes('C')) index += 1 // the next field is the path it was renamed or copied from
    const path = join(root, file)
    const bytes = existsSync(path) && statSync(path).isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'gone'
    state.set(file, `${code} ${bytes}`)
  }
  return state
}

/** The paths whose state differs between two checkoutState results, sorted. */
export function changedFiles(before, after) {
  return [...new Set([...before.keys(), ...after.keys()])].filter((file) => before.get(file) !== after.get(file)).sort()
}
