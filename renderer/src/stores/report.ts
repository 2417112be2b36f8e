/** Per-job reports: loaded with jobs.report, replaced by job.report events. */
import { create } from 'zustand'
import type { JobReport } from '@shared/report'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'

interface ReportState {
  byJob: Record<string, JobReport>
  errors: Record<string, string>
  load(jobId: string): Promise<void>
  apply(report: JobReport): void
}

/** One store for every job's report; use as useReportStore(selector). */
export const useReportStore = create<ReportState>()((set, get) => ({
  byJob: {},
  errors: {},
  async load(jobId) {
    try {
      const report = await getClient().request('jobs.report', { jobId })
      const { [jobId]: _cleared, ...errors } = get().errors
      set({ byJob: { ...get().byJob, [jobId]: report }, errors })
    } catch (error) {
      set({ errors: { ...get().errors, [jobId]: `Could not load what the trainer reported: ${errorMessage(error)}` } })
    }
  },
  apply(report) {
    set({ byJob: { ...get().byJob, [report.jobId]: report } })
  },
}))

/** The job's report, or undefined before it is loaded. */
export function useReport(jobId: string): JobReport | undefined {
  return useReportStore((state) => state.byJob[jobId])
}
