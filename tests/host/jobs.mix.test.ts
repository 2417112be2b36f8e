/**
 * A job on a mix of library datasets through the real host and the REAL trainer on CPU: each
 * dataset is read the library's way (its own format and columns), the weights give the rows the
 * dataset event reports, and the job trains to completion on the tiny self-test model. A dataset
 * that does not fit the method is refused by jobs.create, naming it. Needs TUNEDECK_PYTHON.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppError } from '@shared/errors'
import { readEvents } from '../../electron/host/trainer/tailer'
import { Harness, selftestDataset, temporaryDir } from './jobs.harness'

const dataDir = temporaryDir('tunedeck-mix-')
const filesDir = temporaryDir('tunedeck-mix-files-')
let h: Harness

beforeAll(async () => {
  h = new Harness(dataDir)
  await h.service.start()
})

afterAll(async () => {
  await h.service.shutdown()
  fs.rmSync(dataDir, { recursive: true, force: true })
  fs.rmSync(filesDir, { recursive: true, force: true })
})

/** Writes rows as a JSON Lines file in the test's folder. */
function jsonLines(name: string, rows: object[]): string {
  const file = path.join(filesDir, name)
  fs.writeFileSync(file, rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
  return file
}

async function rejected(answer: Promise<unknown>): Promise<AppError> {
  try {
    await answer
  } catch (error) {
    return error as AppError
  }
  throw new Error('expected the route to answer with an error')
}

describe('a job on a mix of datasets', () => {
  it('reads each library dataset its own way, takes the weighted rows and trains to completion', async () => {
    // The self-test's 96 Alpaca rows, and 24 prompt/completion rows whose answers are in a column of their own.
    const alpaca = (await h.request('datasets.import', { path: selftestDataset(), name: 'Alpaca rows' })).dataset
    const qa = jsonLines(
      'qa.jsonl',
      Array.from({ length: 24 }, (_, index) => ({ prompt: `What is ${index} plus one?`, completion: 'draft', reply: `${index + 1}.` })),
    )
    const imported = (await h.request('datasets.import', { path: qa, name: 'Sums' })).dataset
    // The Datasets page's reading (the answers from "reply"): the job must read it that way.
    const sums = await h.request('datasets.set_reading', {
      datasetId: imported.id,
      reading: { format: 'prompt_completion', columns: { completion: 'reply' }, textSplit: 'auto' },
    })

    const preview = await h.request('datasets.preview', {
      path: alpaca.path,
      weight: 0.25,
      seed: 42,
      mix: [{ path: sums.path, format: 'prompt_completion', columns: { completion: 'reply' }, weight: 1 }],
      tokens: { maxSeqLength: 128 },
    })
    expect(preview.mix?.map((part) => [part.format, part.rows, part.taken])).toEqual([
      ['alpaca', 96, 24],
      ['prompt_completion', 24, 24],
    ])
    expect(preview.tokens?.trainable).toBe(48)

    const created = await h.request('jobs.create', {
      model: { selftest: true },
      dataset: { path: alpaca.path, weight: 0.25, mix: [{ path: sums.path, weight: 1 }] },
      training: { epochs: 1 },
    })
    expect(created.config.dataset.mix).toEqual([
      {
        path: sums.path,
        format: 'prompt_completion',
        columns: { completion: 'reply' },
        textSplit: 'auto',
        csvHeader: 'auto',
        weight: 1,
        datasetId: sums.id,
        sha256: sums.sha256,
      },
    ])
    const job = await h.waitForStatus(created.id, ['completed', 'failed', 'cancelled'], 180_000)
    expect(job.error).toBeNull()
    expect(job.status).toBe('completed')
    // 48 rows, unpacked, 8 to a batch: 6 optimizer steps.
    expect(job.totalSteps).toBe(6)
    const { events } = readEvents(path.join(h.jobDir(created.id), 'events.jsonl'), 0, () => undefined)
    const dataset = events.find((event) => event.type === 'dataset') as Record<string, unknown> | undefined
    expect(dataset).toMatchObject({
      format: 'alpaca+prompt_completion',
      examples: 48,
      mix: [
        { path: alpaca.path, datasetId: alpaca.id, format: 'alpaca', rows: 96, weight: 0.25, taken: 24 },
        { path: sums.path, datasetId: sums.id, format: 'prompt_completion', rows: 24, weight: 1, taken: 24 },
      ],
    })
    const terminal = fs.readFileSync(path.join(h.jobDir(created.id), 'terminal.log'), 'utf8')
    expect(terminal).toContain('[tunedeck] mix: 24 of')
  }, 240_000)

  it('refuses a mix with a dataset the method does not train on, naming that dataset', async () => {
    const pairs = jsonLines('pairs.jsonl', [{ prompt: 'Hi', chosen: 'Hello!', rejected: 'Go away.' }])
    const error = await rejected(
      h.request('jobs.create', { model: { selftest: true }, dataset: { path: selftestDataset(), mix: [{ path: pairs }] } }),
    )
    expect(error).toMatchObject({
      code: 'invalid_input',
      data: { fields: { 'dataset.mix.0.path': expect.stringContaining('does not train on pairs.jsonl') } },
    })
    const missing = await rejected(
      h.request('jobs.create', {
        model: { selftest: true },
        dataset: { path: selftestDataset(), mix: [{ path: path.join(filesDir, 'gone.jsonl') }] },
      }),
    )
    expect(missing).toMatchObject({
      code: 'invalid_input',
      data: { fields: { 'dataset.mix.0.path': expect.stringContaining('gone.jsonl') } },
    })
    expect(missing.message).toMatch(/^Mixed dataset: no dataset file at/)
  })
})
