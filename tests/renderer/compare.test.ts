/** Comparing runs: curves on each axis, the summary of a run, and only the settings that differ. */
import { describe, expect, it } from 'vitest'
import { jobConfigSchema } from '@shared/config'
import type { Job, MetricPoint } from '@shared/jobs'
import type { JobReport } from '@shared/report'
import { axisValues, configDifferences, heldOutCurve, summarizeRun, trainingCurve } from '../../renderer/src/logic/compare'

function point(step: number, loss: number, time: number, tokens = 100, tokensPerSecond = 50): MetricPoint {
  return { step, loss, lr: 1e-4, gradNorm: 1, tokens, epoch: step / 10, tokensPerSecond, mfu: null, time }
}

function job(id: string, settings: { lr?: number; rank?: number; dataset?: string; method?: 'sft' | 'dpo' } = {}): Job {
  const config = jobConfigSchema.parse({
    version: 1,
    jobId: id,
    method: settings.method ?? 'sft',
    model: { path: '/models/base' },
    dataset: { path: settings.dataset ?? '/data/a.jsonl' },
    lora: { rank: settings.rank ?? 16 },
    training: { learningRate: settings.lr ?? 2e-4 },
  })
  return { id, name: id, config } as Job
}

function report(evals: JobReport['evals'], estimatedMb: number | null = null): JobReport {
  return {
    jobId: 'j',
    dataset: null,
    memory: estimatedMb === null ? null : { estimatedMb, freeMb: null, fits: null, detail: {} },
    ooms: [],
    notices: [],
    evals,
  }
}

describe('curves', () => {
  const points = [point(1, 3, 1000, 100), point(2, 2.5, 1002, 120), point(3, 2, 1004, 80)]

  it('puts the training loss against steps, tokens seen and training time', () => {
    expect(trainingCurve(points, 'step')).toEqual([
      { x: 1, y: 3 },
      { x: 2, y: 2.5 },
      { x: 3, y: 2 },
    ])
    expect(axisValues(points, 'tokens')).toEqual([100, 220, 300])
    expect(axisValues(points, 'time')).toEqual([0, 2, 4])
  })

  it('leaves a pause out of the training time', () => {
    const paused = [point(1, 3, 1000), point(2, 2.9, 1002), point(3, 2.8, 1004), point(4, 2.7, 90_000), point(5, 2.6, 90_002)]
    expect(axisValues(paused, 'time')).toEqual([0, 2, 4, 4, 6])
  })

  it('places held-out losses at their step on every axis', () => {
    const evals = [
      { step: 2, loss: 2.7 },
      { step: 3, loss: 2.2 },
    ]
    expect(heldOutCurve(points, evals, 'step')).toEqual([
      { x: 2, y: 2.7 },
      { x: 3, y: 2.2 },
    ])
    expect(heldOutCurve(points, evals, 'tokens')).toEqual([
      { x: 220, y: 2.7 },
      { x: 300, y: 2.2 },
    ])
  })
})

describe('run summary', () => {
  it('reports the last step and loss, the best held-out loss, the median pace and the memory estimate', () => {
    const points = [point(1, 3, 0, 100, 10), point(2, 2, 1, 100, 400), point(3, 1.5, 2, 100, 420), point(4, 1.2, 3, 100, 410)]
    const summary = summarizeRun(
      points,
      report(
        [
          { step: 2, loss: 2.1 },
          { step: 4, loss: 1.9 },
        ],
        812,
      ),
    )
    expect(summary).toEqual({ steps: 4, finalLoss: 1.2, bestHeldOut: 1.9, tokensPerSecond: 410, estimatedMemoryMb: 812 })
  })

  it('shows nothing it does not know for a run that has not started', () => {
    expect(summarizeRun([], undefined)).toEqual({
      steps: 0,
      finalLoss: null,
      bestHeldOut: null,
      tokensPerSecond: null,
      estimatedMemoryMb: null,
    })
  })
})

describe('settings that differ', () => {
  it('lists only the settings that differ, with each run value, and not the job id', () => {
    const rows = configDifferences([job('a'), job('b', { lr: 1e-4 }), job('c', { rank: 8 })])
    expect(rows).toEqual([
      { setting: 'lora.rank', values: ['16', '16', '8'] },
      { setting: 'training.learningRate', values: ['0.0002', '0.0001', '0.0002'] },
    ])
  })

  it('shows text settings as text and nothing for runs with the same settings', () => {
    expect(configDifferences([job('a'), job('b', { dataset: '/data/b.jsonl', method: 'dpo' })])).toEqual([
      { setting: 'method', values: ['sft', 'dpo'] },
      { setting: 'dataset.path', values: ['/data/a.jsonl', '/data/b.jsonl'] },
    ])
    expect(configDifferences([job('a'), job('b')])).toEqual([])
  })
})
