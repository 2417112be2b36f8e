/** The loss history a page loads for a long job: few points, the same curve (every spike and dip kept). */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { jobConfigSchema } from '@shared/config'
import type { MetricPoint } from '@shared/jobs'
import { sampleMetrics } from '../../electron/host/jobs/sampleMetrics'
import { Store } from '../../electron/host/store'

function history(count: number, loss: (step: number) => number): MetricPoint[] {
  return Array.from({ length: count }, (_, index) => {
    const step = index + 1
    return {
      step,
      loss: loss(step),
      lr: 1e-4,
      gradNorm: null,
      tokens: step * 100,
      epoch: step / count,
      tokensPerSecond: 1000,
      mfu: null,
      time: step,
    }
  })
}

describe('sampleMetrics', () => {
  it('keeps every point of a short job', () => {
    const points = history(50, (step) => 1 / step)
    expect(sampleMetrics(points, 100)).toEqual(points)
  })

  it('cuts 100,000 steps to about the asked count, keeping the ends, the spikes and the dips, in step order', () => {
    // A falling curve with one spike and one dip somewhere in the middle.
    const points = history(100_000, (step) => (step === 31_337 ? 50 : step === 77_777 ? -5 : 3 / Math.sqrt(step)))
    const sampled = sampleMetrics(points, 4000)
    expect(sampled.length).toBeLessThanOrEqual(4000)
    expect(sampled.length).toBeGreaterThan(3900)
    expect(sampled[0]).toEqual(points[0])
    expect(sampled.at(-1)).toEqual(points.at(-1))
    expect(sampled.map((point) => point.step)).toEqual([...sampled.map((point) => point.step)].sort((a, b) => a - b))
    expect(new Set(sampled.map((point) => point.step)).size).toBe(sampled.length)
    expect(sampled.find((point) => point.step === 31_337)?.loss).toBe(50)
    expect(sampled.find((point) => point.step === 77_777)?.loss).toBe(-5)
    // Each point is a real one, unchanged.
    for (const point of sampled) expect(point).toEqual(points[point.step - 1])
    // The highest and lowest of any stretch of 100 steps are within the sampled points' range there.
    const inStretch = (from: number) => sampled.filter((point) => point.step >= from && point.step < from + 100).map((point) => point.loss)
    expect(Math.max(...inStretch(31_300))).toBe(50)
  })
})

describe('the sampled history from the store', () => {
  it('is what sampleMetrics keeps of every stored point, read from SQLite (steps resumed, gaps, equal losses)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunedeck-sampled-'))
    const store = Store.open(dir)
    try {
      const config = jobConfigSchema.parse({ version: 1, jobId: 'long', model: { path: '/models/m' }, dataset: { path: '/data/d.jsonl' } })
      store.jobs.insert({
        ...{ id: 'long', name: 'long', status: 'completed', config, createdAt: 1000, startedAt: null, finishedAt: null },
        ...{ step: 0, totalSteps: 0, loss: null, tokensPerSecond: null, error: null, adapterPath: null, queuePosition: null },
        ...{ pid: null, pidStartTime: null, lastEventTime: null, eventsOffset: 0, pausedCheckpoint: null },
      })
      // Every third step logged, stored out of order, runs of equal losses, one spike, and a resume that trained steps again.
      const points = history(9_000, (step) => (step === 4_321 ? 40 : Math.round(30 / Math.sqrt(step)) / 10)).map((point) => ({
        ...point,
        step: point.step * 3,
      }))
      store.transaction(() => {
        for (const point of [...points].reverse()) store.metrics.put('long', { ...point, loss: point.loss + 1 })
        store.metrics.deleteAfter('long', 0)
        for (const point of points) store.metrics.put('long', point)
      })
      const sampled = store.metrics.sampled('long', 500)
      expect(sampled).toEqual(sampleMetrics(store.metrics.list('long'), 500))
      expect(sampled.length).toBeGreaterThan(249) // a point or two from each of 249 stretches
      expect(sampled.length).toBeLessThanOrEqual(500)
      expect(sampled.find((point) => point.step === 4_321 * 3)?.loss).toBe(40)
      expect(store.metrics.sampled('long', 10_000)).toEqual(points)
    } finally {
      store.db.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
