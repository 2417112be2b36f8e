/**
 * Data read as its author meant it, on the Datasets page's side (issue 19): a file whose format
 * cannot be told is imported (not refused) and marked unread, with the trainer's suggested reading
 * in its preview; no job can use it until a reading is kept; the kept reading (format, column
 * mapping, CSV header row) is stored in its dataset.json, shown by its preview and used by the
 * jobs on it; kto_tag maps as the feedback label. The real trainer's loader throughout.
 * Needs TUNEDECK_PYTHON (the trainer's venv). Several seconds.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatasetEntry, DatasetImportResult, DatasetPreview } from '@shared/datasets'
import { fieldErrorsOf, type AppError } from '@shared/errors'
import type { Job } from '@shared/jobs'
import { createHost, type Host } from '../../electron/host/host'
import { python, pythonRuntimeDir, resourcesDir, temporaryDir } from './jobs.harness'
import { dispatch } from './routes'

const workDir = temporaryDir('tunedeck-reading-')
const dataDir = path.join(workDir, 'data')
let host: Host

beforeAll(async () => {
  process.env.TUNEDECK_PYTHON ??= python
  host = createHost({ dataDir, resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test' })
  await host.start()
  await call('queue.set', { running: false })
})

afterAll(async () => {
  await host?.shutdown()
  fs.rmSync(workDir, { recursive: true, force: true })
})

function writeFile(name: string, content: string): string {
  const file = path.join(workDir, 'user', name)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, content)
  return file
}

async function call<T>(route: string, input: unknown): Promise<T> {
  const result = await dispatch(host, route, input)
  if (!result.ok) throw new Error(`${route} failed: ${result.error.message}`)
  return result.output as T
}

async function refusal(route: string, input: unknown): Promise<AppError> {
  const result = await dispatch(host, route, input)
  if (result.ok) throw new Error(`expected ${route} to fail, got ${JSON.stringify(result.output)}`)
  return result.error
}

function stored(dataset: DatasetEntry): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(dataDir, 'datasets', dataset.id, 'dataset.json'), 'utf8')) as Record<string, unknown>
}

const headerless = 'What is 2+2?,4,true\nName a colour.,Blue,true\nCapital of France?,Berlin,false\n'

describe('a file whose format cannot be told', () => {
  it('is imported unread, previews with a suggested reading, refuses jobs until a reading is kept, then trains as kept', async () => {
    const { dataset } = await call<DatasetImportResult>('datasets.import', { path: writeFile('judged.csv', headerless) })
    expect(dataset).toMatchObject({ fileName: 'judged.csv', format: 'auto', usable: 0 })
    expect(dataset.unread).toMatch(/^judged\.csv: cannot tell the format from the first rows' fields \(column_1, column_2, column_3\)/)
    expect(dataset.reading).toBeUndefined()

    const preview = await call<DatasetPreview>('datasets.preview', { path: dataset.path, limit: 3 })
    expect([preview.ok, preview.needsReading, preview.columns]).toEqual([false, true, ['column_1', 'column_2', 'column_3']])
    expect(preview.sample[2]).toEqual({ column_1: 'Capital of France?', column_2: 'Berlin', column_3: 'false' })
    expect(preview.suggestion).toEqual({ format: 'feedback', columns: { label: 'column_3', prompt: 'column_1', completion: 'column_2' } })

    const blocked = await refusal('jobs.create', { model: { selftest: true }, method: 'kto', dataset: { path: dataset.path } })
    expect(fieldErrorsOf(blocked)['dataset.path']).toMatch(
      /judged\.csv: cannot tell the format.*Open Read as… beside the dataset on the Datasets page/,
    )

    const reading = { format: 'feedback', columns: { prompt: 'column_1', completion: 'column_2', label: 'column_3' } }
    const read = await call<DatasetEntry>('datasets.set_reading', { datasetId: dataset.id, reading })
    expect(read).toMatchObject({ format: 'feedback', rows: 3, usable: 3, bad: 0 })
    expect(read.unread).toBeUndefined()
    // Remembered with the dataset, on disk, with the defaults filled in.
    expect(stored(read)).toMatchObject({ reading: { ...reading, textSplit: 'auto', csvHeader: 'auto' } })
    expect(stored(read).unread).toBeUndefined()
    // A re-check keeps reading it that way.
    expect((await call<DatasetEntry>('datasets.recheck', { datasetId: dataset.id })).usable).toBe(3)

    const job = await call<Job>('jobs.create', { model: { selftest: true }, method: 'kto', dataset: { path: read.path } })
    expect(job.config.dataset).toMatchObject({ format: 'feedback', columns: reading.columns, csvHeader: 'auto', datasetId: dataset.id })
    await call('jobs.cancel', { jobId: job.id })
  })

  it('is refused when even a chosen reading reads no row, and stays unread', async () => {
    const { dataset } = await call<DatasetImportResult>('datasets.import', {
      path: writeFile('pairs.csv', 'Hi,Hello,Go away\nBye,Goodbye,Later\n'),
    })
    expect(dataset.unread).toBeDefined()
    // Short words in the first row read as names (Hi, Hello, Go away): mapping column_1 says to set the header row.
    const columns = { prompt: 'column_1', chosen: 'column_2', rejected: 'column_3' }
    const named = await refusal('datasets.set_reading', { datasetId: dataset.id, reading: { format: 'preference', columns } })
    expect(named.message).toBe(
      'pairs.csv: columns: "prompt" is mapped to a column "column_1" the file does not have (its columns: Hi, Hello, Go away). ' +
        'Its first row is read as column names: set the header row to "no" (the first row is data) to name the columns column_1, column_2, … The dataset is read as before.',
    )
    const wrong = await refusal('datasets.set_reading', {
      datasetId: dataset.id,
      reading: { format: 'preference', columns: { prompt: 'column_1' }, csvHeader: 'no' },
    })
    expect(wrong.message).toMatch(/pairs\.csv: no usable rows \(2 read\); the first problem: pairs\.csv line 1: field "chosen": missing/)
    expect((await call<DatasetEntry>('datasets.get', { datasetId: dataset.id })).unread).toBeDefined()
    const right = await call<DatasetEntry>('datasets.set_reading', {
      datasetId: dataset.id,
      reading: { format: 'preference', columns, csvHeader: 'no' },
    })
    expect([right.format, right.usable, right.unread]).toEqual(['preference', 2, undefined])
  })
})

describe('the CSV header row', () => {
  it('reads a first row of odd names as data when told, for the dataset and the jobs on it', async () => {
    const { dataset } = await call<DatasetImportResult>('datasets.import', {
      path: writeFile('fragen.csv', 'Frage,Antwort\nWie alt?,Zehn\n'),
    })
    expect(dataset.unread).toMatch(/\(Frage, Antwort\)/) // odd names, but names: read as the header
    const named = await call<DatasetEntry>('datasets.set_reading', {
      datasetId: dataset.id,
      reading: { format: 'alpaca', columns: { instruction: 'Frage', output: 'Antwort' } },
    })
    expect(named.usable).toBe(1)
    const asData = await call<DatasetEntry>('datasets.set_reading', {
      datasetId: dataset.id,
      reading: { format: 'alpaca', columns: { instruction: 'column_1', output: 'column_2' }, csvHeader: 'no' },
    })
    expect([asData.usable, asData.reading?.csvHeader]).toEqual([2, 'no'])
    const preview = await call<DatasetPreview>('datasets.preview', {
      path: asData.path,
      columns: { instruction: 'column_1', output: 'column_2' },
      csvHeader: 'no',
    })
    expect(preview.records[0]).toEqual({
      messages: [
        { role: 'user', content: 'Frage' },
        { role: 'assistant', content: 'Antwort' },
      ],
    })
    const job = await call<Job>('jobs.create', { model: { selftest: true }, dataset: { path: asData.path } })
    expect(job.config.dataset).toMatchObject({
      format: 'alpaca',
      csvHeader: 'no',
      columns: { instruction: 'column_1', output: 'column_2' },
    })
    await call('jobs.cancel', { jobId: job.id })
  })
})

describe('kto_tag as the feedback label', () => {
  it('maps kto_tag (or any true/false column) to label', async () => {
    const rows = [
      { q: 'Greet me.', a: 'Hello!', kto_tag: true },
      { q: 'Greet me.', a: 'Go away.', kto_tag: false },
    ]
    const { dataset } = await call<DatasetImportResult>('datasets.import', {
      path: writeFile('tagged.jsonl', rows.map((row) => JSON.stringify(row)).join('\n')),
    })
    expect(dataset.unread).toBeDefined()
    const preview = await call<DatasetPreview>('datasets.preview', { path: dataset.path })
    expect(preview.suggestion).toEqual({ format: 'feedback', columns: { label: 'kto_tag', prompt: 'q', completion: 'a' } })
    const read = await call<DatasetEntry>('datasets.set_reading', {
      datasetId: dataset.id,
      reading: { format: 'feedback', columns: { prompt: 'q', completion: 'a', label: 'kto_tag' } },
    })
    expect([read.format, read.usable]).toEqual(['feedback', 2])
    const shown = await call<DatasetPreview>('datasets.preview', {
      path: read.path,
      format: 'feedback',
      columns: { prompt: 'q', completion: 'a', label: 'kto_tag' },
      tokens: { shown: 2 },
    })
    expect(shown.records.map((record) => record.label)).toEqual([true, false])
    expect(shown.tokens?.sides).toEqual(['desirable', 'undesirable'])
  })
})
