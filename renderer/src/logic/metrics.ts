/** Pure helpers for a job's metric history: merging, timing and ETA. */
import type { MetricPoint } from '@shared/jobs'

/**
 * Merges new points into a history sorted by step. A later point for a step
 * already present replaces it (a resumed job re-logs steps after its
 * checkpoint). Returns `existing` itself when nothing changed, so selectors
 * that compare by identity skip a render.
 */
export function mergeMetricPoints(existing: readonly MetricPoint[], incoming: readonly MetricPoint[]): MetricPoint[] {
  if (incoming.length === 0) return existing as MetricPoint[]
  const last = existing[existing.length - 1]
  // The common case while training: strictly newer steps, in order; append.
  if (isStrictlyAscending(incoming) && (last === undefined || incoming[0]!.step > last.step)) {
    return existing.concat(incoming)
  }
  const byStep = new Map<number, MetricPoint>()
  for (const point of existing) byStep.set(point.step, point)
  for (const point of incoming) byStep.set(point.step, point)
  return [...byStep.values()].sort((a, b) => a.step - b.step)
}

function isStrictlyAscending(points: readonly MetricPoint[]): boolean {
  for (let index = 1; index < points.length; index++) {
    if (points[index]!.step <= points[index - 1]!.step) return false
  }
  return true
}

/** Seconds since the epoch from either seconds or milliseconds (the host uses ms, the trainer s). */
export function toSeconds(time: number): number {
  return time > 1e11 ? time / 1000 : time
}

/** Steps at the start of a run (or of the history we have) whose pace is not the run's: model warm-up, caches, compilation. */
const warmupSteps = 3

/** An interval this many times slower than the median is a pause or a stall, not the pace. */
const stallFactor = 4

/**
 * Seconds per optimizer step: the mean pace of the most recent `window` intervals between
 * points, leaving out the first steps' warm-up and intervals that were a pause (a resumed job
 * has a gap of minutes or days between two steps). Null with fewer than two points.
 *
 * A mean over a window changes by a twentieth of a step's difference when one more step
 * arrives, so the time left moves smoothly instead of jumping (a slow first step used to
 * make it read 2 min, then 31 s a few seconds later).
 */
export function secondsPerStep(points: readonly MetricPoint[], window = 20): number | null {
  const intervals = stepIntervals(points)
  if (intervals.length === 0) return null
  const firstStep = points[0]!.step
  const settled = intervals.filter((interval) => interval.from >= firstStep + warmupSteps - 1)
  // Until the warm-up is over, its own pace is the best guess there is.
  const recent = (settled.length > 0 ? settled : intervals).slice(-window)
  const rates = recent.map((interval) => interval.seconds / interval.steps).sort((a, b) => a - b)
  const median = rates[Math.floor(rates.length / 2)]!
  const steady = recent.filter((interval) => interval.seconds / interval.steps <= stallFactor * median || median === 0)
  const steps = steady.reduce((sum, interval) => sum + interval.steps, 0)
  const seconds = steady.reduce((sum, interval) => sum + interval.seconds, 0)
  return steps > 0 ? seconds / steps : null
}

/** The time between consecutive points, from the step of the first of each pair. */
function stepIntervals(points: readonly MetricPoint[]): { from: number; steps: number; seconds: number }[] {
  const intervals: { from: number; steps: number; seconds: number }[] = []
  for (let index = 1; index < points.length; index++) {
    const previous = points[index - 1]!
    const steps = points[index]!.step - previous.step
    const seconds = toSeconds(points[index]!.time) - toSeconds(previous.time)
    if (steps > 0 && seconds >= 0) intervals.push({ from: previous.step, steps, seconds })
  }
  return intervals
}

/** Seconds left until `totalSteps`, or null when it cannot be estimated yet. */
export function estimateRemainingSeconds(points: readonly MetricPoint[], step: number, totalSteps: number): number | null {
  const perStep = secondsPerStep(points)
  if (perStep === null || totalSteps <= 0) return null
  return Math.max(0, totalSteps - step) * perStep
}

/** Formats a duration in seconds as "42s", "3m 05s" or "2h 07m"; "—" when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '—'
  const whole = Math.round(seconds)
  if (whole < 60) return `${whole}s`
  const minutes = Math.floor(whole / 60)
  if (minutes < 60) return `${minutes}m ${String(whole % 60).padStart(2, '0')}s`
  const hours = Math.floor(minutes / 60)
  return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`
}

/** Seconds from start to finish, or to `now` while still going; null before it started. */
export function elapsedSeconds(startedAt: number | null, finishedAt: number | null, now: number): number | null {
  if (startedAt === null) return null
  const end = finishedAt ?? now
  return Math.max(0, toSeconds(end) - toSeconds(startedAt))
}

/** "1.2 KB", "340 MB": sizes of checkpoints. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

/** Loss to four significant digits; "—" when absent. */
export function formatLoss(loss: number | null | undefined): string {
  return loss === null || loss === undefined || !Number.isFinite(loss) ? '—' : loss.toPrecision(4)
}
