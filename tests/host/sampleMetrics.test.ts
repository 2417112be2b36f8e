/** The loss history a page loads for a long job: few points, the same curve (every spike and dip kept). */
import { describe, expect, it } from 'vitest'
import type { MetricPoint } from '@shared/jobs'
import { sampleMetrics } from '../../electron/host/jobs/sampleMetrics'

function history(count: number, loss: (step: number) => number): MetricPoint[] {
  return Array.from({ length: count }, (_, index) => {
    const step = index + 1
    return { step, loss: loss(step), lr: 1e-4, gradNorm: null, tokens: step * 100, epoch: step / count, tokensPerSecond: 1000, mfu: null, time: step }
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
