/**
 * A long job's loss history for a page that only needs to draw it: at most about `maxPoints`
 * of its points, chosen so the curve looks the same. The first and the last points stay, and in
 * each of maxPoints / 2 runs of consecutive steps its lowest- and highest-loss points, so every
 * spike and every dip is still there. The points are real ones, in step order. A job page of
 * 100,000 points asked for all of them (15 MB of JSON) before drawing anything.
 */
import type { MetricPoint } from '@shared/jobs'

export function sampleMetrics(points: readonly MetricPoint[], maxPoints: number): MetricPoint[] {
  if (points.length <= maxPoints) return [...points]
  const buckets = Math.max(1, Math.floor((maxPoints - 2) / 2))
  const size = Math.ceil((points.length - 2) / buckets)
  const kept: MetricPoint[] = [points[0] as MetricPoint]
  for (let start = 1; start < points.length - 1; start += size) {
    const end = Math.min(start + size, points.length - 1)
    let lowest = start
    let highest = start
    for (let index = start + 1; index < end; index += 1) {
      const loss = (points[index] as MetricPoint).loss
      if (loss < (points[lowest] as MetricPoint).loss) lowest = index
      if (loss > (points[highest] as MetricPoint).loss) highest = index
    }
    for (const index of lowest === highest ? [lowest] : [Math.min(lowest, highest), Math.max(lowest, highest)]) kept.push(points[index] as MetricPoint)
  }
  kept.push(points[points.length - 1] as MetricPoint)
  return kept
}
