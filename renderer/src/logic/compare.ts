/**
 * Comparing runs: the loss curves of several jobs on one axis (step, tokens seen or training
 * time), a summary of each, and the config settings in which they differ.
 */
import type { Job, MetricPoint } from '@shared/jobs'
import type { JobReport } from '@shared/report'
import { toSeconds } from './metrics'

/** How many runs one comparison shows: enough to compare a sweep, few enough to tell the lines apart. */
export const compareLimits = { min: 2, max: 6 } as const

export const compareAxes = ['step', 'tokens', 'time'] as const
export type CompareAxis = (typeof compareAxes)[number]

export const axisTitles: Record<CompareAxis, string> = { step: 'step', tokens: 'tokens seen', time: 'training time (s)' }

export type XY = { x: number; y: number }

/**
 * x for each point on the chosen axis. Tokens are summed over the steps logged; time is the
 * training time from the first point, leaving out the gaps in which the job was paused (a gap
 * longer than ten times the step before it), so a run paused overnight is not drawn a day long.
 */
export function axisValues(points: readonly MetricPoint[], axis: CompareAxis): number[] {
  if (axis === 'step') return points.map((point) => point.step)
  if (axis === 'tokens') {
    let seen = 0
    return points.map((point) => (seen += point.tokens))
  }
  const values: number[] = []
  let elapsed = 0
  let previousGap = Number.POSITIVE_INFINITY
  points.forEach((point, index) => {
    if (index > 0) {
      const gap = toSeconds(point.time) - toSeconds(points[index - 1]!.time)
      const paused = Number.isFinite(previousGap) && gap > 10 * Math.max(previousGap, 1e-3)
      if (!paused && gap >= 0) elapsed += gap
      if (!paused) previousGap = gap
    }
    values.push(elapsed)
  })
  return values
}

/** Training loss against the axis. */
export function trainingCurve(points: readonly MetricPoint[], axis: CompareAxis): XY[] {
  const xs = axisValues(points, axis)
  return points.map((point, index) => ({ x: xs[index]!, y: point.loss }))
}

/** Held-out loss against the axis: each eval sits where its step is on the training curve. */
export function heldOutCurve(points: readonly MetricPoint[], evals: JobReport['evals'], axis: CompareAxis): XY[] {
  if (axis === 'step') return evals.map((entry) => ({ x: entry.step, y: entry.loss }))
  const xs = axisValues(points, axis)
  const curve: XY[] = []
  for (const entry of evals) {
    const index = points.findIndex((point) => point.step >= entry.step)
    if (index >= 0) curve.push({ x: xs[index]!, y: entry.loss })
  }
  return curve
}

/** What the summary table shows of one run. */
export interface RunSummary {
  steps: number
  finalLoss: number | null
  bestHeldOut: number | null
  /** Median tokens per second over the logged steps (a pause or warm-up does not drag it). */
  tokensPerSecond: number | null
  /** The trainer's memory estimate before loading; measured peaks are not stored yet. */
  estimatedMemoryMb: number | null
}

export function summarizeRun(points: readonly MetricPoint[], report: JobReport | undefined): RunSummary {
  const rates = points
    .map((point) => point.tokensPerSecond)
    .filter((rate) => rate > 0)
    .sort((a, b) => a - b)
  const heldOut = report?.evals.map((entry) => entry.loss) ?? []
  return {
    steps: points.at(-1)?.step ?? 0,
    finalLoss: points.at(-1)?.loss ?? null,
    bestHeldOut: heldOut.length > 0 ? Math.min(...heldOut) : null,
    tokensPerSecond: rates.length > 0 ? rates[Math.floor(rates.length / 2)]! : null,
    estimatedMemoryMb: report?.memory?.estimatedMb ?? null,
  }
}

/** Settings that say nothing about how a run differs from another. */
const ignoredSettings = new Set(['version', 'jobId', 'resumeFrom'])

/** A config flattened to dotted paths ("training.learningRate") and JSON-encoded values. */
function flatten(value: unknown, prefix: string, into: Map<string, string>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, into)
  } else {
    into.set(prefix, JSON.stringify(value ?? null))
  }
}

/** One setting that differs between the runs, with each run's value as text ("—" where a run lacks it). */
export interface SettingDifference {
  setting: string
  values: string[]
}

/** The settings in which the jobs' configs differ, in config order; the same everywhere is left out. */
export function configDifferences(jobs: readonly Job[]): SettingDifference[] {
  const flat = jobs.map((job) => {
    const map = new Map<string, string>()
    flatten(job.config, '', map)
    return map
  })
  const settings: string[] = []
  for (const map of flat) for (const key of map.keys()) if (!settings.includes(key)) settings.push(key)
  return settings
    .filter((setting) => !ignoredSettings.has(setting))
    .map((setting) => ({ setting, values: flat.map((map) => map.get(setting)) }))
    .filter((row) => new Set(row.values).size > 1)
    .map((row) => ({ setting: row.setting, values: row.values.map((value) => (value === undefined ? '—' : display(value))) }))
}

function display(json: string): string {
  const value: unknown = JSON.parse(json)
  return typeof value === 'string' ? value : json
}

/** Job ids from the page address, in order, without repeats, at most the limit. */
export function parseCompareIds(text: string): string[] {
  const ids = text
    .split(',')
    .map((part) => decodeURIComponent(part.trim()))
    .filter((id) => id.length > 0)
  return [...new Set(ids)].slice(0, compareLimits.max)
}
