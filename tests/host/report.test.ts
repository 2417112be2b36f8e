/**
 * The job report (electron/shared/report.ts) built from trainer events
 * ingested into a real SQLite file: what the job page shows besides the
 * loss curve, the same after ingesting twice, and the newest reading after a
 * resume.
 */
import fs from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { jobConfigSchema } from '@shared/config'
import type { TrainerEvent } from '@shared/protocol'
import { noticeLimit } from '@shared/report'
import { ingestEvents } from '../../electron/host/jobs/ingest'
import { buildReport } from '../../electron/host/jobs/report'
import { Store, newJobRecord } from '../../electron/host/store'
import { temporaryDir } from './jobs.harness'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

function storeWithJob(): { store: Store; dir: string } {
  const dir = temporaryDir()
  dirs.push(dir)
  const store = Store.open(dir)
  const config = jobConfigSchema.parse({ version: 1, jobId: 'j1', model: { path: '/models/m' }, dataset: { path: '/data/d.jsonl' } })
  store.jobs.insert(newJobRecord({ id: 'j1', name: 'job', status: 'running', config, createdAt: 1000, startedAt: 1000 }))
  return { store, dir }
}

let seq = 0
const event = (type: string, fields: Record<string, unknown>): TrainerEvent =>
  ({ v: 1, seq: ++seq, time: 1700000000 + seq, type, ...fields }) as TrainerEvent
const step = (n: number, mfu: number | null) =>
  event('step', {
    step: n,
    totalSteps: 10,
    loss: 2 - n / 10,
    lr: 1e-4,
    gradNorm: 1,
    tokens: 100,
    epoch: n / 10,
    tokensPerSecond: 1000,
    mfu,
  })

describe('the job report', () => {
  it("shows the dataset, the memory estimate, OOM retries, warnings and evals, and keeps each step's MFU with its metrics", () => {
    const { store } = storeWithJob()
    seq = 0
    const events = [
      event('dataset', { format: 'sharegpt', examples: 900, skipped: 3, truncated: 12, validationExamples: 100, packedRows: 240 }),
      event('memory', { estimatedMb: 14000, freeMb: 11000, fits: false, detail: { weights: 1000, activations: 12500, overhead: 500 } }),
      event('log', { level: 'warning', message: 'the estimate is above the free memory' }),
      event('log', { level: 'debug', message: 'only for the terminal' }),
      step(1, 0.41),
      event('oom', { step: 2, batchSize: 8, maxSeqLength: 1024, retry: true, newBatchSize: 4, newGradientAccumulation: 2 }),
      step(2, 0.38),
      event('eval', { step: 2, loss: 1.5 }),
    ]
    ingestEvents(store, 'j1', '/nowhere', events, 100)
    const report = buildReport(store, 'j1')
    expect(report.dataset).toEqual({
      format: 'sharegpt',
      examples: 900,
      skipped: 3,
      truncated: 12,
      validationExamples: 100,
      packedRows: 240,
    })
    expect(report.memory).toEqual({
      estimatedMb: 14000,
      freeMb: 11000,
      fits: false,
      detail: { weights: 1000, activations: 12500, overhead: 500 },
    })
    expect(report.ooms).toEqual([
      {
        step: 2,
        batchSize: 8,
        maxSeqLength: 1024,
        retry: true,
        newBatchSize: 4,
        newGradientAccumulation: 2,
        time: (1700000000 + 6) * 1000,
      },
    ])
    expect(report.notices.map((notice) => notice.message)).toEqual(['the estimate is above the free memory'])
    expect(report.evals).toEqual([{ step: 2, loss: 1.5 }])
    expect(store.metrics.list('j1').map((point) => point.mfu)).toEqual([0.41, 0.38])

    // The same lines again (a restarted host re-reading the file) change nothing.
    ingestEvents(store, 'j1', '/nowhere', events, 100)
    expect(buildReport(store, 'j1')).toEqual(report)
    store.close()
  })

  it('keeps the newest dataset, memory and eval of a step after a resume, and at most the newest notices', () => {
    const { store } = storeWithJob()
    seq = 0
    ingestEvents(
      store,
      'j1',
      '/nowhere',
      [
        event('dataset', { format: 'alpaca', examples: 96, skipped: 0, truncated: 0, validationExamples: 0 }),
        event('eval', { step: 4, loss: 2.5 }),
        event('dataset', { format: 'alpaca', examples: 96, skipped: 0, truncated: 1, validationExamples: 0 }),
        event('eval', { step: 4, loss: 2.25 }),
        ...Array.from({ length: noticeLimit + 5 }, (_, index) => event('log', { level: 'info', message: `line ${index}` })),
        step(5, null),
      ],
      10,
    )
    const report = buildReport(store, 'j1')
    expect(report.dataset).toMatchObject({ truncated: 1, packedRows: null })
    expect(report.evals).toEqual([{ step: 4, loss: 2.25 }])
    expect(report.notices).toHaveLength(noticeLimit)
    expect(report.notices[0]?.message).toBe('line 5')
    expect(report.memory).toBeNull()
    expect(store.metrics.list('j1').map((point) => point.mfu)).toEqual([null])
    store.close()
  })

  it('keeps a multi-rank estimate per GPU with its layout and fit check', () => {
    const { store } = storeWithJob()
    seq = 0
    const perGpu = { estimatedMb: 9000, freeMb: 10000, fits: true, detail: { weights: 3000 }, ranks: 4, sharding: 'fsdp' }
    ingestEvents(
      store,
      'j1',
      '/nowhere',
      [event('memory', { ...perGpu, wholeModelMb: 20000, shardedMb: 9000, placement: 'needs FSDP across 4 GPUs' })],
      10,
    )
    expect(buildReport(store, 'j1').memory).toEqual({ ...perGpu, placement: 'needs FSDP across 4 GPUs' })
    store.close()
  })

  it('lists a warning once when a resumed trainer says it again', () => {
    const { store } = storeWithJob()
    seq = 0
    const warning = (message: string) => event('log', { level: 'warning', message })
    // The first run, then a resume that repeats its start-up warning and adds a new one.
    ingestEvents(
      store,
      'j1',
      '/nowhere',
      [
        warning('the tokenizer has no pad token'),
        step(1, null),
        warning('the tokenizer has no pad token'),
        warning('a new one'),
        step(2, null),
      ],
      100,
    )
    expect(buildReport(store, 'j1').notices.map((notice) => notice.message)).toEqual(['the tokenizer has no pad token', 'a new one'])
  })
})
