/**
 * A long job's loss history for a page that only needs to draw it: at most about `maxPoints`
 * of its points, chosen so the curve looks the same. The first and the last points stay, and in
 * each of maxPoints / 2 runs of consecutive steps its lowest- and highest-loss points, so every
 * spike and every dip is still there. The points are real ones, in step order. A job page of
 * 100,000 points asked for all of them (15 MB of JSON) before drawing anything.
 */
import type { MetricPoint } from '@shared/jobs'
import { sampleIndexes } from '../store/metricSample'

export function sampleMetrics(points: readonly MetricPoint[], maxPoints: number): MetricPoint[] {
  if (points.length <= maxPoints) return [...points]
  return sampleIndexes(
    points.map((point) => point.loss),
    maxPoints,
  ).map((index) => points[index] as MetricPoint)
}
