/**
 * A data folder an older Tunedeck left readable by others (0644 files, 0755 folders, as a
 * default umask makes them) is closed when the host starts: files 0600 (0700 where the owner
 * could run them), folders 0700, links and what they point to left alone, the Python
 * environment skipped. New files were already private; before the fix old ones stayed open.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createHost } from '../../electron/host/host'

const repoDir = join(__dirname, '../..')
const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-private-data-'))
const dataDir = join(workDir, 'data')

afterAll(() => rmSync(workDir, { recursive: true, force: true }))

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8)

describe('a pre-existing data folder', () => {
  it('has its files made 0600 and its folders 0700 at start', async () => {
    const start = async (): Promise<void> => {
      const host = createHost({
        dataDir,
        resourcesDir: join(repoDir, 'resources'),
        pythonRuntimeDir: join(repoDir, 'python-runtime'),
        appVersion: '0.1.0-test',
      })
      await host.start()
      await host.shutdown()
    }
    // A real database, then the folder as an older version left it: no mark, everything open.
    await start()
    rmSync(join(dataDir, '.private-v1'), { force: true })
    chmodSync(join(dataDir, 'tunedeck.db'), 0o644)
    const outside = join(workDir, 'outside.txt')
    const files = {
      settings: join(dataDir, 'models.json'),
      terminal: join(dataDir, 'jobs', 'job-1', 'terminal.log'),
      dataset: join(dataDir, 'datasets', 'abc', 'train.jsonl'),
      script: join(dataDir, 'jobs', 'job-1', 'run.sh'),
      venv: join(dataDir, 'python-env', 'bin', 'python'),
    }
    for (const file of Object.values(files)) {
      mkdirSync(join(file, '..'), { recursive: true, mode: 0o755 })
      writeFileSync(file, file.endsWith('.json') ? '{}\n' : 'private text\n', { mode: 0o644 })
      chmodSync(file, 0o644)
    }
    for (const folder of [
      dataDir,
      join(dataDir, 'jobs'),
      join(dataDir, 'jobs', 'job-1'),
      join(dataDir, 'datasets'),
      join(dataDir, 'datasets', 'abc'),
      join(dataDir, 'python-env'),
      join(dataDir, 'python-env', 'bin'),
    ])
      chmodSync(folder, 0o755)
    chmodSync(files.script, 0o755)
    chmodSync(files.venv, 0o755)
    writeFileSync(outside, "not Tunedeck's\n", { mode: 0o644 })
    chmodSync(outside, 0o644)
    symlinkSync(outside, join(dataDir, 'jobs', 'link.txt'))

    await start()

    expect([join(dataDir, 'tunedeck.db'), files.settings, files.terminal, files.dataset].map(modeOf)).toEqual(['600', '600', '600', '600'])
    expect(modeOf(files.script)).toBe('700')
    expect([dataDir, join(dataDir, 'jobs'), join(dataDir, 'jobs', 'job-1'), join(dataDir, 'datasets', 'abc')].map(modeOf)).toEqual([
      '700',
      '700',
      '700',
      '700',
    ])
    // Installed packages are no private text, and a link's target is not the data folder's.
    expect(modeOf(files.venv)).toBe('755')
    expect(modeOf(outside)).toBe('644')
  })
})
