/**
 * The job page's GPU chart shares the loss chart's x axis (the step): a GPU
 * bucket's time becomes the step the trainer was at then, interpolated
 * between the logged steps' times.
 */
import type { GpuBucket, GpuHistory } from '@shared/gpuHistory'
import type { MetricPoint } from '@shared/jobs'

type XY = { x: number; y: number }

/** The (fractional) step at `time`, from points sorted by step; null before the first point or without points. */
export function stepAtTime(points: readonly MetricPoint[], time: number): number | null {
  const first = points[0]
  if (!first || time < first.time) return null
  let low = 0
  let high = points.length - 1
  if (time >= points[high]!.time) return points[high]!.step
  // Times grow with steps (a resume replays steps with later times, which only moves them forward).
  while (high - low > 1) {
    const middle = (low + high) >> 1
    if (points[middle]!.time <= time) low = middle
    else high = middle
  }
  const before = points[low]!
  const after = points[high]!
  const span = after.time - before.time
  return span <= 0 ? before.step : before.step + ((after.step - before.step) * (time - before.time)) / span
}

/** One line of the GPU chart: the bucket peaks of one reading, on the step axis. */
export interface GpuLine {
  label: string
  /** Which y axis: percent and °C on the left, watts and GiB on the right. */
  axis: 'left' | 'right'
  points: XY[]
}

const readings: { label: string; axis: GpuLine['axis']; value: (bucket: GpuBucket) => number | null }[] = [
  { label: 'utilisation %', axis: 'left', value: (bucket) => bucket.utilization?.max ?? null },
  { label: 'temperature °C', axis: 'left', value: (bucket) => bucket.temperatureC?.max ?? null },
  { label: 'power W', axis: 'right', value: (bucket) => bucket.powerW?.max ?? null },
  { label: 'memory GiB', axis: 'right', value: (bucket) => (bucket.memoryUsedMb ? bucket.memoryUsedMb.max / 1024 : null) },
]

/**
 * The lines to draw: for each GPU and reading, each bucket's maximum placed at
 * the step of its midpoint (so a spike shorter than a bucket still shows), and
 * nothing for readings the driver never reported or buckets before the first step.
 */
export function gpuLines(history: GpuHistory, points: readonly MetricPoint[]): GpuLine[] {
  const lines: GpuLine[] = []
  for (const gpu of history.gpus) {
    const prefix = history.gpus.length > 1 ? `GPU ${gpu.index} ` : ''
    for (const reading of readings) {
      const line: GpuLine = { label: prefix + reading.label, axis: reading.axis, points: [] }
      for (const bucket of gpu.buckets) {
        const y = reading.value(bucket)
        const x = stepAtTime(points, (bucket.timeStart + bucket.timeEnd) / 2)
        if (y !== null && x !== null) line.points.push({ x, y })
      }
      if (line.points.length > 0) lines.push(line)
    }
  }
  return lines
}
