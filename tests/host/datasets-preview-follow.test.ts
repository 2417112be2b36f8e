/**
 * A followed dataset preview through the host's routes with the real trainer: a big JSON Lines
 * file reports how far it has been read while its tokens are counted, Cancel stops the Python
 * child at once (nothing of it keeps running), and a finished one counts what an unfollowed
 * preview counts. Needs TUNEDECK_PYTHON (the trainer's venv).
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Harness, temporaryDir, waitFor } from './jobs.harness'

const dataDir = temporaryDir('tunedeck-preview-follow-')
let h: Harness
let big = ''
let small = ''

function conversation(index: number): string {
  return `${JSON.stringify({
    messages: [
      { role: 'user', content: `Question ${index}?` },
      { role: 'assistant', content: `Answer ${index}. `.repeat(8) },
    ],
  })}\n`
}

beforeAll(() => {
  h = new Harness(dataDir)
  fs.mkdirSync(path.join(dataDir, 'incoming'), { recursive: true })
  big = path.join(dataDir, 'incoming', 'big.jsonl')
  small = path.join(dataDir, 'incoming', 'small.jsonl')
  // About 40,000 rows: many seconds of tokenising on one core, so Cancel lands mid-file.
  fs.writeFileSync(big, Array.from({ length: 40_000 }, (_, index) => conversation(index)).join(''))
  fs.writeFileSync(small, Array.from({ length: 300 }, (_, index) => conversation(index)).join(''))
})

afterAll(async () => {
  await h.service.shutdown()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

/** Processes whose command line names the file (the preview's Python child). */
function readersOf(file: string): string[] {
  const listing = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
  return listing.split('\n').filter((line) => line.includes(file) && line.includes('tunedeck_trainer.data'))
}

const progressOf = (requestId: string) => h.payloads('datasets.preview_progress').filter((progress) => progress.requestId === requestId)

describe('a followed dataset preview', () => {
  it('reports its progress and stops on Cancel before the end of the file, its child gone', async () => {
    const tokens = { maxSeqLength: 64, shown: 1 }
    const reading = h.request('datasets.preview', { path: big, tokens, requestId: 'big-1' }).then(
      () => null,
      (error: unknown) => error as Error,
    )
    await waitFor(
      () => progressOf('big-1').some((progress) => progress.done > 0),
      60_000,
      () => 'a first progress report',
    )
    const first = progressOf('big-1')[0]
    expect(first?.total).toBe(fs.statSync(big).size)
    expect(readersOf(big)).toHaveLength(1)
    // A second followed preview waits its turn (this host allows one at a time).
    await expect(h.request('datasets.preview', { path: small, requestId: 'small-early' })).rejects.toThrow(
      '1 previews are already reading files: wait for one to end or cancel it',
    )
    const asked = Date.now()
    expect(await h.request('datasets.preview_cancel', { requestId: 'big-1' })).toEqual({ cancelled: true })
    const error = await reading
    const elapsed = Date.now() - asked
    console.log(
      `cancelled after ${progressOf('big-1').length} progress reports (${((progressOf('big-1').at(-1)?.done ?? 0) / 2 ** 20).toFixed(1)} MiB read); ended ${elapsed} ms after Cancel`,
    )
    expect(error?.message).toBe('The preview of big.jsonl was cancelled before it read the whole file.')
    // What Cancel must do is stop the reading; how soon is a benchmark (printed above), not a test on a shared CI.
    expect(progressOf('big-1').at(-1)?.done).toBeLessThan(fs.statSync(big).size)
    await waitFor(
      () => readersOf(big).length === 0,
      5000,
      () => 'the preview child to exit',
    )
    expect(await h.request('datasets.preview_cancel', { requestId: 'big-1' })).toEqual({ cancelled: false })
  }, 120_000)

  it('counts what an unfollowed preview counts, its last report the whole file', async () => {
    const tokens = { maxSeqLength: 64, shown: 1 }
    const followed = await h.request('datasets.preview', { path: small, tokens, limit: 2, requestId: 'small-1' })
    const plain = await h.request('datasets.preview', { path: small, tokens, limit: 2 })
    expect(followed).toEqual(plain)
    expect(followed.tokens?.trainable).toBe(300)
    const size = fs.statSync(small).size
    expect(progressOf('small-1').at(-1)).toEqual({ requestId: 'small-1', done: size, total: size })
  }, 60_000)
})
