/** The choice of jobs/sampleMetrics.ts, on losses alone, for the store to read only the rows it keeps. */

/**
 * Which points sampleMetrics keeps, given every point's loss in step order: their indexes, in
 * order. The store reads only the losses of a long job, then the rows these name
 * (MetricsRepository.sampled): 100,000 rows read whole cost ten times the CPU.
 */
export function sampleIndexes(losses: readonly number[], maxPoints: number): number[] {
  if (losses.length <= maxPoints) return losses.map((_, index) => index)
  const buckets = Math.max(1, Math.floor((maxPoints - 2) / 2))
  const size = Math.ceil((losses.length - 2) / buckets)
  const kept = [0]
  for (let start = 1; start < losses.length - 1; start += size) {
    const end = Math.min(start + size, losses.length - 1)
    let lowest = start
    let highest = start
    for (let index = start + 1; index < end; index += 1) {
      const loss = losses[index] as number
      if (loss < (losses[lowest] as number)) lowest = index
      if (loss > (losses[highest] as number)) highest = index
    }
    if (lowest === highest) kept.push(lowest)
    else kept.push(Math.min(lowest, highest), Math.max(lowest, highest))
  }
  kept.push(losses.length - 1)
  return kept
}
