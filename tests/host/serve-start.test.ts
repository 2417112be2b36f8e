/**
 * `npm run serve` as the README shows it: the address is among the first lines, not under the
 * build's output, and the hint for the command line follows the data folder.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { temporaryDir } from './jobs.harness'

const repoDir = path.resolve(__dirname, '../..')
const dataDir = temporaryDir('tunedeck-serve-start-')
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }))

describe('npm run serve', () => {
  it('prints its address within its first lines', async () => {
    const child = spawn('npm', ['run', 'serve', '--', '--port', '0', '--data-dir', dataDir], {
      cwd: repoDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    // Both streams in the order they arrive, as a terminal shows them.
    let printed = ''
    child.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (printed += chunk.toString()))
    try {
      await new Promise<void>((resolve, reject) => {
        const check = setInterval(() => {
          if (!printed.includes('Tunedeck is serving at')) return
          clearInterval(check)
          resolve()
        }, 100)
        child.once('exit', (code) => {
          clearInterval(check)
          reject(new Error(`npm run serve exited with ${code}:\n${printed}`))
        })
      })
    } finally {
      // npm starts serve as its child: end the whole group.
      if (child.pid) process.kill(-child.pid, 'SIGTERM')
    }
    const lines = printed.split('\n')
    const address = lines.findIndex((line) => line.startsWith('Tunedeck is serving at'))
    // npm's own two lines, the data folder, the allowed folders and the command line's hint.
    expect(address, printed).toBeLessThanOrEqual(10)
    expect(printed).toContain(`export TUNEDECK_DATA_DIR=${dataDir}`)
  }, 300_000)
})
