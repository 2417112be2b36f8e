/** Per-job metric history: loaded from jobs.metrics, then extended by job.metrics events. */
import { create } from 'zustand'
import type { MetricPoint } from '@shared/jobs'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { mergeMetricPoints } from '../logic/metrics'

const none: MetricPoint[] = []

/**
 * Points of the history a page loads: the host keeps each stretch's lowest and highest loss, so
 * the curve looks the same, and a job of 100,000 steps draws at once instead of after its 15 MB
 * of JSON (steps that arrive live are all kept).
 */
const historyPoints = 4000

interface MetricsState {
  byJob: Record<string, MetricPoint[]>
  errors: Record<string, string>
  /** Fetches the history (about historyPoints of it, chosen by the host); points that arrived meanwhile are kept. */
  load(jobId: string): Promise<void>
  /** Adds points from a job.metrics event; a later point for a step replaces the earlier. */
  append(jobId: string, points: readonly MetricPoint[]): void
}

/** One store for every job's metrics; use as useMetricsStore(selector). */
export const useMetricsStore = create<MetricsState>()((set, get) => ({
  byJob: {},
  errors: {},
  async load(jobId) {
    try {
      const loaded = await getClient().request('jobs.metrics', { jobId, maxPoints: historyPoints })
      // Event points received during the request are newer than the file the host read.
      const merged = mergeMetricPoints(mergeMetricPoints([], loaded), get().byJob[jobId] ?? none)
      const { [jobId]: _cleared, ...errors } = get().errors
      set({ byJob: { ...get().byJob, [jobId]: merged }, errors })
    } catch (error) {
      set({ errors: { ...get().errors, [jobId]: `Could not load the metrics: ${errorMessage(error)}` } })
    }
  },
  append(jobId, points) {
    const current = get().byJob[jobId] ?? none
    const merged = mergeMetricPoints(current, points)
    if (merged !== current) set({ byJob: { ...get().byJob, [jobId]: merged } })
  },
}))

/** The job's points, sorted by step (a stable empty array before any arrive). */
export function useMetrics(jobId: string): MetricPoint[] {
  return useMetricsStore((state) => state.byJob[jobId] ?? none)
}
