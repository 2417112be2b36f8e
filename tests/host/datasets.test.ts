/**
 * datasets.preview through the host's dispatch, with the real trainer's
 * loader: the shared demo datasets read with their detected format, a bad
 * JSONL row is listed with its line and field, a file that cannot be read
 * says why, and a missing file is refused naming `path`. A folder written by
 * datasets' save_to_disk is previewed and accepted by jobs.create; any other
 * folder is refused naming dataset.path.
 * Needs TUNEDECK_PYTHON (the trainer's venv). A few seconds.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RouteInput } from '@shared/routes'
import type { DatasetPreview } from '@shared/datasets'
import { fieldErrorsOf } from '@shared/errors'
import { createHost, type Host } from '../../electron/host/host'
import type { Job } from '@shared/jobs'
import { python, pythonRuntimeDir, repoRoot, resourcesDir, temporaryDir } from './jobs.harness'
import { dispatch, errorOf, request } from './routes'

const sharedDatasets = path.resolve(repoRoot, '..', 'shared', 'datasets')
const haveShared = fs.existsSync(path.join(sharedDatasets, 'identity.json'))
const workDir = temporaryDir('tunedeck-datasets-')
let host: Host

beforeAll(async () => {
  host = createHost({ dataDir: path.join(workDir, 'data'), resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test' })
  await host.start()
})

afterAll(async () => {
  await host?.shutdown()
  fs.rmSync(workDir, { recursive: true, force: true })
})

const preview = (input: RouteInput<'datasets.preview'>): Promise<DatasetPreview> => request(host, 'datasets.preview', input)

function writeFile(name: string, text: string): string {
  const file = path.join(workDir, name)
  fs.writeFileSync(file, text)
  return file
}

describe.skipIf(!haveShared)('datasets.preview on the shared demo datasets', () => {
  it('reads identity.json as alpaca and shows the first rows as conversations', async () => {
    const file = path.join(sharedDatasets, 'identity.json')
    const shown = await preview({ path: file, limit: 2 })
    expect(shown).toMatchObject({ ok: true, path: file, format: 'alpaca', rows: 91, usable: 91, skipped: 0, errors: [], error: null })
    expect(shown.columns).toEqual(['instruction', 'input', 'output'])
    expect(shown.records).toHaveLength(2)
    expect(shown.records[0]).toEqual({
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: expect.stringContaining('Hello! I am') },
      ],
    })
  })

  it('detects the preference pairs of dpo_en_demo.json', async () => {
    const shown = await preview({ path: path.join(sharedDatasets, 'dpo_en_demo.json'), limit: 1 })
    expect(shown).toMatchObject({ ok: true, format: 'preference', rows: 300, usable: 300 })
    expect(Object.keys(shown.records[0] ?? {})).toEqual(expect.arrayContaining(['prompt', 'chosen', 'rejected']))
  })
})

describe('datasets.preview on files the user wrote', () => {
  it('lists a bad JSONL row with its line and field and still shows the good rows', async () => {
    const file = writeFile(
      'bad.jsonl',
      ['{"instruction":"a","output":"b"}', '{"instruction":5,"output":"b"}', '{"instruction":"c","output":"d"}'].join('\n') + '\n',
    )
    const shown = await preview({ path: file })
    expect(shown).toMatchObject({ ok: true, format: 'alpaca', badRows: 'fail', rows: 3, usable: 2, skipped: 1, error: null })
    expect(shown.errors).toEqual([{ row: 2, unit: 'line', field: 'instruction', message: expect.stringContaining('bad.jsonl line 2') }])
    // The job's choice comes back with the same rows, so the form can say "would stop" or "would be skipped".
    expect(await preview({ path: file, badRows: 'skip' })).toMatchObject({ badRows: 'skip', usable: 2, skipped: 1, errors: shown.errors })
  })

  it('maps the file’s own column names and honours a chosen format', async () => {
    const file = writeFile('questions.jsonl', '{"question":"What is 2+2?","answer":"4"}\n')
    const shown = await preview({ path: file, format: 'alpaca', columns: { instruction: 'question', output: 'answer' } })
    expect(shown).toMatchObject({ ok: true, format: 'alpaca', usable: 1, columns: ['question', 'answer'] })
    expect(shown.records[0]).toEqual({
      messages: [
        { role: 'user', content: 'What is 2+2?' },
        { role: 'assistant', content: '4' },
      ],
    })
  })

  it('says why a file cannot be read, with empty lists', async () => {
    const file = writeFile('broken.json', '{not json\n')
    const shown = await preview({ path: file })
    expect(shown).toMatchObject({ ok: false, format: null, rows: 0, usable: 0, columns: [], records: [], errors: [] })
    expect(shown.error).toMatch(/broken\.json line 1: not valid JSON/)
  })

  it('refuses a file that does not exist, naming the path field', async () => {
    const missing = path.join(workDir, 'nowhere.jsonl')
    const error = errorOf(await dispatch(host, 'datasets.preview', { path: missing }))
    expect(error.code).toBe('invalid_input')
    expect(fieldErrorsOf(error).path).toContain(missing)
    expect(fieldErrorsOf(errorOf(await dispatch(host, 'datasets.preview', { path: 'x.jsonl', limit: -1 })))).toHaveProperty('limit')
    const columns = errorOf(await dispatch(host, 'datasets.preview', { path: missing, columns: { question: 'q' } }))
    expect(fieldErrorsOf(columns)['columns.question']).toMatch(/not a field Tunedeck reads/)
  })
})

describe('a folder written by datasets’ save_to_disk', () => {
  const saved = path.join(workDir, 'saved')
  const plainFolder = path.join(workDir, 'plain-folder')

  beforeAll(() => {
    const rows = [
      { prompt: 'Say hi', completion: 'Hi!' },
      { prompt: 'Say bye', completion: 'Bye!' },
    ]
    const script = 'import json, sys, datasets; datasets.Dataset.from_list(json.loads(sys.argv[1])).save_to_disk(sys.argv[2])'
    execFileSync(python, ['-c', script, JSON.stringify(rows), saved], { stdio: 'pipe' })
    fs.mkdirSync(plainFolder)
  })

  it('is previewed with its detected format', async () => {
    expect(await preview({ path: saved })).toMatchObject({
      ok: true,
      format: 'prompt_completion',
      rows: 2,
      usable: 2,
      columns: ['prompt', 'completion'],
    })
  })

  it('is accepted as a job’s dataset, and any other folder is refused naming dataset.path', async () => {
    await dispatch(host, 'queue.set', { running: false })
    const created = await dispatch(host, 'jobs.create', {
      model: { selftest: true },
      dataset: { path: saved, format: 'prompt_completion' },
    })
    expect(created.ok, JSON.stringify(created)).toBe(true)
    const job = (created as { output: Job }).output
    expect(job.config.dataset).toMatchObject({ path: saved, format: 'prompt_completion' })
    await dispatch(host, 'jobs.cancel', { jobId: job.id })

    const refused = errorOf(await dispatch(host, 'jobs.create', { model: { selftest: true }, dataset: { path: plainFolder } }))
    expect(fieldErrorsOf(refused)['dataset.path']).toMatch(/is a folder but not a dataset saved with save_to_disk/)
    await dispatch(host, 'queue.set', { running: true })
  })
})
