/**
 * A named pipe (FIFO) inside an allowed folder, through the real WebSocket of a real serve:
 * importing, previewing or training on it, or inspecting it as a model, is refused with a
 * message naming the file, before anything opens it. Before the fix datasets.import opened it
 * and waited for a writer forever; four such imports held every libuv thread, so the page's
 * static files stalled too. No Python is needed: the refusals come first.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WireResponse } from '@shared/api'
import { startWireServe, type WireClient, type WireServe } from './wireServe'

const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-fifo-'))
const allowedDir = join(workDir, 'allowed')
const pipe = join(allowedDir, 'train.jsonl')
const savedFolder = join(allowedDir, 'saved')
let serve: WireServe
let client: WireClient

beforeAll(async () => {
  mkdirSync(savedFolder, { recursive: true })
  execFileSync('mkfifo', [pipe, join(savedFolder, 'data-00000-of-00001.arrow')])
  writeFileSync(join(savedFolder, 'state.json'), '{}\n')
  serve = await startWireServe({ workDir, roots: [allowedDir] })
  client = await serve.connect()
})

afterAll(async () => {
  await serve?.stop()
  rmSync(workDir, { recursive: true, force: true })
})

/** The answer, or a failure naming the request when none comes in 30 s (the FIFO's hang). */
async function answer(route: string, input: unknown): Promise<WireResponse> {
  let timer: NodeJS.Timeout | undefined
  const silence = new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(`${route} on a FIFO never answered`)), 30_000)))
  try {
    return await Promise.race([client.request(route, input), silence])
  } finally {
    clearTimeout(timer)
  }
}

describe('named pipes', () => {
  it('refuses a FIFO as a dataset to import, naming it, and keeps serving', async () => {
    const responses = await Promise.all([1, 2, 3, 4].map(() => answer('datasets.import', { path: pipe })))
    for (const response of responses) {
      expect(response).toMatchObject({
        ok: false,
        error: {
          code: 'invalid_input',
          message: expect.stringContaining(`${pipe} is a named pipe (FIFO)`) as string,
          data: { fields: { path: expect.any(String) as string } },
        },
      })
    }
    expect(await serve.serving()).toBe(true)
    // Nothing half-imported stays behind.
    const datasets = join(serve.dataDir, 'datasets')
    expect(existsSync(datasets) ? readdirSync(datasets) : []).toEqual([])
  })

  it('refuses a FIFO inside a save_to_disk folder, naming it', async () => {
    const response = await answer('datasets.import', { path: savedFolder })
    expect(response).toMatchObject({
      ok: false,
      error: { code: 'invalid_input', message: expect.stringContaining('data-00000-of-00001.arrow is a pipe, socket or device') as string },
    })
  })

  it('refuses a FIFO to preview, to train on and to inspect as a model', async () => {
    const preview = await answer('datasets.preview', { path: pipe })
    expect(preview).toMatchObject({
      ok: false,
      error: { code: 'invalid_input', message: expect.stringContaining(`${pipe} is a named pipe (FIFO)`) as string },
    })
    const tokens = await answer('datasets.preview', { path: join(allowedDir, 'saved', 'state.json'), tokens: { modelPath: pipe } })
    expect(tokens).toMatchObject({ ok: false, error: { message: expect.stringContaining('tokens.modelPath') as string } })
    const job = await answer('jobs.create', { model: { selftest: true }, dataset: { path: pipe } })
    expect(job).toMatchObject({
      ok: false,
      error: { code: 'invalid_input', data: { fields: { 'dataset.path': expect.stringContaining('named pipe') as string } } },
    })
    const model = await answer('models.inspect', { path: pipe })
    expect(model).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('named pipe') as string } })
    expect(await serve.serving()).toBe(true)
  })
})
