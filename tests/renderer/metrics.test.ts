/** The metric history the chart draws, and the timing shown beside it. */
import { describe, expect, it } from 'vitest'
import type { MetricPoint } from '@shared/jobs'
import {
  elapsedSeconds,
  estimateRemainingSeconds,
  formatBytes,
  formatDuration,
  formatLoss,
  mergeMetricPoints,
  secondsPerStep,
  toSeconds,
} from '../../renderer/src/logic/metrics'

function point(step: number, loss: number, time = 1_700_000_000 + step): MetricPoint {
  return { step, loss, lr: 2e-4, gradNorm: 1, tokens: 100, epoch: step / 10, tokensPerSecond: 100, mfu: null, time }
}

describe('mergeMetricPoints', () => {
  it('appends newer steps in order and keeps the earlier points', () => {
    const merged = mergeMetricPoints([point(1, 3), point(2, 2.9)], [point(3, 2.8), point(4, 2.7)])
    expect(merged.map((p) => [p.step, p.loss])).toEqual([
      [1, 3],
      [2, 2.9],
      [3, 2.8],
      [4, 2.7],
    ])
  })

  it('replaces a step already present with the later point for it (a resumed job)', () => {
    const merged = mergeMetricPoints([point(1, 3), point(2, 2.9), point(3, 2.8)], [point(3, 2.5), point(4, 2.4)])
    expect(merged.map((p) => [p.step, p.loss])).toEqual([
      [1, 3],
      [2, 2.9],
      [3, 2.5],
      [4, 2.4],
    ])
  })

  it('sorts points that arrive out of order and drops duplicates within one batch', () => {
    const merged = mergeMetricPoints([point(5, 1)], [point(2, 2), point(7, 0.5), point(2, 1.9)])
    expect(merged.map((p) => [p.step, p.loss])).toEqual([
      [2, 1.9],
      [5, 1],
      [7, 0.5],
    ])
  })

  it('returns the same array when nothing arrived, so renders are skipped', () => {
    const existing = [point(1, 3)]
    expect(mergeMetricPoints(existing, [])).toBe(existing)
  })

  it('keeps the earlier point objects when appending, which lets the chart push only new ones', () => {
    const first = point(1, 3)
    const merged = mergeMetricPoints([first], [point(2, 2)])
    expect(merged[0]).toBe(first)
  })
})

describe('timing', () => {
  it('reads both seconds and milliseconds as seconds', () => {
    expect(toSeconds(1_700_000_000)).toBe(1_700_000_000)
    expect(toSeconds(1_700_000_000_500)).toBe(1_700_000_000.5)
  })

  it('estimates seconds per step from the recent points only', () => {
    // 10 slow steps (10 s each), then 20 fast ones (1 s each): the window of 20 sees the fast pace.
    const points: MetricPoint[] = []
    let time = 1_700_000_000
    for (let step = 1; step <= 30; step++) {
      time += step <= 10 ? 10 : 1
      points.push(point(step, 1, time))
    }
    expect(secondsPerStep(points)).toBeCloseTo(1)
    expect(estimateRemainingSeconds(points, 30, 90)).toBeCloseTo(60)
  })

  it('leaves the first steps warm-up out of the pace', () => {
    // Step 1 took a minute (model warm-up), every later one a second.
    const points = [point(1, 1, 1_700_000_000)]
    for (let step = 2; step <= 8; step++) points.push(point(step, 1, 1_700_000_060 + (step - 2)))
    expect(secondsPerStep(points)).toBeCloseTo(1)
    expect(estimateRemainingSeconds(points, 8, 100)).toBeCloseTo(92)
  })

  it('leaves a pause out of the pace: the resumed job goes on at its old speed', () => {
    const points: MetricPoint[] = []
    let time = 1_700_000_000
    for (let step = 1; step <= 30; step++) {
      time += step === 16 ? 3_600 : 2 // paused for an hour before step 16
      points.push(point(step, 1, time))
    }
    expect(secondsPerStep(points)).toBeCloseTo(2)
  })

  it('moves the time left steadily while the step times jitter', () => {
    // Steps of 0.8 to 1.2 s in a fixed pattern: once ten steps are in, the estimate shown after
    // each new step moves by little more than the second that passed.
    const durations = [30, 1.2, 0.8, 1.1, 0.9, 1.2, 0.8, 1, 1.2, 0.8, 1.1, 0.9, 1.2, 0.8, 1, 1.2, 0.8, 1.1, 0.9, 1, 1.2, 0.8, 1.1, 0.9, 1]
    const points: MetricPoint[] = []
    let time = 1_700_000_000
    const estimates: number[] = []
    durations.forEach((seconds, index) => {
      time += seconds
      points.push(point(index + 1, 1, time))
      const left = estimateRemainingSeconds(points, index + 1, 200)
      if (index >= 9 && left !== null) estimates.push(left)
    })
    const jumps = estimates.slice(1).map((left, index) => Math.abs(estimates[index]! - left))
    expect(Math.max(...jumps)).toBeLessThan(6)
    expect(estimates.at(-1)).toBeGreaterThan(170)
    expect(estimates.at(-1)).toBeLessThan(180)
  })

  it('has no estimate with fewer than two points', () => {
    expect(estimateRemainingSeconds([point(1, 1)], 1, 10)).toBeNull()
    expect(estimateRemainingSeconds([], 0, 10)).toBeNull()
  })

  it('measures elapsed time to the finish, or to now while running', () => {
    expect(elapsedSeconds(null, null, 5_000)).toBeNull()
    expect(elapsedSeconds(1_700_000_000_000, 1_700_000_090_000, 0)).toBe(90)
    expect(elapsedSeconds(1_700_000_000_000, null, 1_700_000_030_000)).toBe(30)
  })

  it('formats durations the way the job page shows them', () => {
    expect(formatDuration(null)).toBe('—')
    expect(formatDuration(0)).toBe('0s')
    expect(formatDuration(42.4)).toBe('42s')
    expect(formatDuration(185)).toBe('3m 05s')
    expect(formatDuration(2 * 3600 + 7 * 60 + 30)).toBe('2h 07m')
    expect(formatDuration(Number.NaN)).toBe('—')
  })

  it('formats sizes and losses', () => {
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(1536)).toBe('1.5 KB')
    expect(formatBytes(340 * 1024 * 1024)).toBe('340 MB')
    expect(formatLoss(2.345678)).toBe('2.346')
    expect(formatLoss(null)).toBe('—')
  })
})
