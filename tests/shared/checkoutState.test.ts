/**
 * npm test fails a run that changes the checkout (scripts/test.mjs): a fresh clone stays clean after
 * `npm test`, and docs/screenshot.png changes only through `npm run screenshot`. Checked on a real
 * git repository in a temporary folder.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { changedFiles, checkoutState } from '../../scripts/checkoutState.mjs'

const repo = mkdtempSync(join(tmpdir(), 'tunedeck-checkout-'))
afterAll(() => rmSync(repo, { recursive: true, force: true }))

function git(...args: string[]): void {
  const result = spawnSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: repo, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`)
}

describe('the clean-checkout check of npm test', () => {
  it('names a tracked file a run rewrote and a file it added, not what git ignores', () => {
    git('init', '-q')
    mkdirSync(join(repo, 'docs'))
    writeFileSync(join(repo, 'docs', 'screenshot.png'), 'before')
    writeFileSync(join(repo, '.gitignore'), 'test-results/\n')
    writeFileSync(join(repo, 'notes.txt'), 'edited before the run')
    git('add', 'docs', '.gitignore')
    git('commit', '-qm', 'start')
    const before = checkoutState(repo)!
    expect([...before.keys()]).toEqual(['notes.txt'])

    writeFileSync(join(repo, 'docs', 'screenshot.png'), 'rewritten by a test')
    mkdirSync(join(repo, 'test-results'))
    writeFileSync(join(repo, 'test-results', 'selftest.png'), 'ignored')
    writeFileSync(join(repo, 'docs', 'left-behind.json'), '{}')
    expect(changedFiles(before, checkoutState(repo)!)).toEqual(['docs/left-behind.json', 'docs/screenshot.png'])
  })

  it('sees a file that was already changed before the run and changed again', () => {
    const before = checkoutState(repo)!
    writeFileSync(join(repo, 'notes.txt'), 'edited during the run')
    expect(changedFiles(before, checkoutState(repo)!)).toEqual(['notes.txt'])
  })

  it('says nothing outside a git checkout', () => {
    expect(checkoutState(tmpdir())).toBeNull()
  })
})
