/**
 * Every test hook the trainer reads (python-runtime/tunedeck_trainer/test_hooks.py) reaches a
 * trainer the host launches: a hook added there but not to the environment allowlist would be
 * dropped silently, and a host test setting it would test the run without it.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { childEnvironment } from '../../electron/host/childEnv'

const hooksFile = join(__dirname, '..', '..', 'python-runtime', 'tunedeck_trainer', 'test_hooks.py')

it('passes every TUNEDECK_* hook that test_hooks.py reads to the children', () => {
  const names = [...new Set(readFileSync(hooksFile, 'utf8').match(/TUNEDECK_[A-Z][A-Z_]*/g) ?? [])]
  expect(names.length).toBeGreaterThan(5)
  const source = Object.fromEntries(names.map((name) => [name, '1']))
  const passed = childEnvironment({}, { source })
  expect(names.filter((name) => passed[name] !== '1')).toEqual([])
})
