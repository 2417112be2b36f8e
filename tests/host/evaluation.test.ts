/**
 * Evaluation, base against tuned, through the host's routes with the real trainer: a self-test job's
 * held-out rows are scored by both models, progress comes row by row, the result is saved with the
 * job (read back by jobs.evaluation, as the job page does when reopened), and the export's model
 * card carries it; a library dataset chosen by id is evaluated instead of the held-out rows. Needs
 * TUNEDECK_PYTHON.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Job } from '@shared/jobs'
import { evaluationText } from '../../electron/cli/evaluate'
import { createHost, type Host } from '../../electron/host/host'
import { extractZip } from './export.helpers'
import { pythonRuntimeDir, resourcesDir, temporaryDir } from './jobs.harness'
import { dispatch, errorOf, request, waitFinished } from './routes'

const workDir = temporaryDir('tunedeck-evaluation-')
const dataDir = path.join(workDir, 'data')
const progress: Array<{ jobId: string; done: number; total: number }> = []
let host: Host
let job: Job

beforeAll(async () => {
  host = createHost({ dataDir, resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test' })
  host.subscribe((event, payload) => {
    if (event === 'job.evaluation_progress') progress.push(payload as (typeof progress)[number])
  })
  await host.start()
  const created = await request(host, 'jobs.create', {
    model: { selftest: true },
    dataset: { validationSplit: 0.1 },
    training: { epochs: 2 },
  })
  job = await waitFinished(host, created.id, 240_000)
  if (job.status !== 'completed') console.error(fs.readFileSync(path.join(dataDir, 'jobs', job.id, 'terminal.log'), 'utf8').slice(-3000))
  expect(job.status).toBe('completed')
}, 300_000)

afterAll(async () => {
  await host?.shutdown()
  fs.rmSync(workDir, { recursive: true, force: true })
})

describe('jobs.evaluate', () => {
  it('scores base and tuned on the held-out rows, saves it with the job, and the card shows it', async () => {
    expect(await request(host, 'jobs.evaluation', { jobId: job.id })).toBeNull()
    const result = await request(host, 'jobs.evaluate', { jobId: job.id, limit: 4, maxNewTokens: 8 })
    expect(result).toMatchObject({ source: 'held-out', rows: 4, maxNewTokens: 8 })
    expect(progress.filter((item) => item.jobId === job.id).map((item) => item.done)).toEqual([1, 2, 3, 4])
    console.log(
      `self-test job: base loss ${result.base.loss.toFixed(3)}, tuned ${result.tuned.loss.toFixed(3)}; ROUGE-L ${result.base.rougeL.toFixed(3)} -> ${result.tuned.rougeL.toFixed(3)}`,
    )
    expect(result.tuned.loss).toBeLessThan(result.base.loss)
    expect(result.tuned.perplexity).toBeCloseTo(Math.exp(result.tuned.loss), 6)
    expect(result.examples).toHaveLength(4)
    expect(await request(host, 'jobs.evaluation', { jobId: job.id })).toEqual(result)
    expect(evaluationText(result)).toContain(`tuned  ${result.tuned.loss.toFixed(4).padStart(8)}`)

    const exported = await request(host, 'exports.start', { jobId: job.id, checkpoint: null })
    const unzipped = path.join(workDir, 'unzipped')
    await extractZip(exported.path, unzipped)
    const card = fs.readFileSync(path.join(unzipped, 'README.md'), 'utf8')
    expect(card).toContain('## Evaluation')
    expect(card).toContain(`| Tuned | ${result.tuned.loss.toFixed(4)} | ${result.tuned.perplexity.toFixed(2)} |`)
    expect(card).toContain(`| Base | ${result.base.loss.toFixed(4)} |`)
  }, 240_000)

  it('evaluates on a chosen library dataset, by id, and names a file that is not there', async () => {
    const file = path.join(workDir, 'chosen.jsonl')
    const chosen = [
      { instruction: 'Spell the word cat.', input: '', output: 'C, A, T.' },
      { instruction: 'Name a fruit that is yellow.', input: '', output: 'A banana is yellow.' },
      { instruction: 'Say goodbye.', input: 'Omar', output: 'Goodbye, Omar!' },
    ]
    fs.writeFileSync(file, chosen.map((row) => JSON.stringify(row)).join('\n') + '\n')
    const { dataset } = await request(host, 'datasets.import', { path: file })
    const result = await request(host, 'jobs.evaluate', { jobId: job.id, dataset: dataset.id, maxNewTokens: 4 })
    expect(result).toMatchObject({ source: 'dataset', rows: 3, datasetPath: dataset.path })
    expect(result.examples.map((example) => example.reference.trim())).toEqual(chosen.map((row) => row.output))
    expect(evaluationText(result)).toContain(`3 rows of ${dataset.path}, saved with the job:`)
    expect(await request(host, 'jobs.evaluation', { jobId: job.id })).toEqual(result)

    const missing = path.join(workDir, 'not-there.jsonl')
    const error = errorOf(await dispatch(host, 'jobs.evaluate', { jobId: job.id, dataset: missing }))
    expect(error.code).toBe('invalid_input')
    expect(error.message).toContain(`no file at ${missing}`)
  }, 240_000)

  it('names an unknown job', async () => {
    const error = errorOf(await dispatch(host, 'jobs.evaluate', { jobId: 'no-such-job' }))
    expect(error.code).toBe('not_found')
  })
})
