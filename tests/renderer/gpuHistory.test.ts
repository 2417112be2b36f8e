/** The GPU chart's x axis is the loss chart's: bucket times become steps, and each bucket's peak is what is drawn. */
import { describe, expect, it } from 'vitest'
import type { GpuBucket } from '@shared/gpuHistory'
import type { MetricPoint } from '@shared/jobs'
import { gpuLines, stepAtTime } from '../../renderer/src/logic/gpuHistory'

const point = (step: number, time: number): MetricPoint => ({
  step,
  time,
  loss: 1,
  lr: 0.001,
  gradNorm: null,
  tokens: 0,
  epoch: 0,
  tokensPerSecond: 0,
  mfu: null,
})
const range = (min: number, max: number) => ({ min, max, mean: (min + max) / 2 })

function bucket(timeStart: number, timeEnd: number, utilization: [number, number]): GpuBucket {
  return {
    timeStart,
    timeEnd,
    samples: 2,
    utilization: range(...utilization),
    memoryUsedMb: range(2048, 4096),
    temperatureC: null,
    powerW: null,
    clockSmMhz: null,
    clockMemoryMhz: null,
  }
}

describe('GPU history on the step axis', () => {
  const points = [point(1, 10_000), point(2, 12_000), point(4, 16_000)]

  it('interpolates the step between logged steps, holds the last step after them, and has none before the first', () => {
    expect(stepAtTime(points, 11_000)).toBe(1.5)
    expect(stepAtTime(points, 15_000)).toBe(3.5)
    expect(stepAtTime(points, 20_000)).toBe(4)
    expect(stepAtTime(points, 9_999)).toBeNull()
    expect(stepAtTime([], 11_000)).toBeNull()
  })

  it("draws each bucket's maximum at its midpoint, and leaves out readings the driver never reported", () => {
    const lines = gpuLines(
      { gpus: [{ index: 0, name: 'RTX 4090', buckets: [bucket(8_000, 9_000, [0, 10]), bucket(11_000, 13_000, [20, 100])] }] },
      points,
    )
    expect(lines.map((line) => line.label)).toEqual(['utilisation %', 'memory GiB'])
    expect(lines[0]!.points).toEqual([{ x: 2, y: 100 }])
    expect(lines[1]!.points).toEqual([{ x: 2, y: 4 }])
  })
})
