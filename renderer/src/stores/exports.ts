/**
 * The Export section of each job page: the chosen source (final adapter or a checkpoint), its
 * compatibility report, the destination, the merged option, and the running export's progress.
 * Progress comes as export.progress events, wired by the section itself.
 */
import { create } from 'zustand'
import type { ExportPlan, ExportProgress, ExportResult, HubPushResult, MergedGgufType } from '@shared/exports'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'

/** One job's export form and its last run. */
export interface JobExport {
  /** null: the completed job's adapter; else a checkpoint's name. */
  checkpoint: string | null
  /**
   * Whether the job was completed when the user picked the source; null: not picked. A pick made
   * before the job completed gives way to the final adapter once it completes.
   */
  chosenWhenCompleted: boolean | null
  plan: ExportPlan | null
  planError: string | null
  /** What the user typed; null keeps the default destination. */
  destination: string | null
  merged: boolean
  /** Also the merged model as one GGUF of this type; null for none. */
  ggufType: MergedGgufType | null
  running: boolean
  progress: ExportProgress | null
  result: ExportResult | null
  error: string | null
  /** The Hugging Face repository to push to (owner/name), and whether a new one is public. */
  hubRepo: string
  hubPublic: boolean
  pushResult: HubPushResult | null
}

const empty: JobExport = {
  checkpoint: null,
  chosenWhenCompleted: null,
  plan: null,
  planError: null,
  destination: null,
  merged: false,
  ggufType: null,
  running: false,
  progress: null,
  result: null,
  error: null,
  hubRepo: '',
  hubPublic: false,
  pushResult: null,
}

interface ExportsState {
  byJob: Record<string, JobExport>
  /** Picks the source and fetches its compatibility report; `pickedWhenCompleted` as in JobExport. */
  choose(jobId: string, checkpoint: string | null, pickedWhenCompleted: boolean | null): Promise<void>
  edit(jobId: string, change: Partial<Pick<JobExport, 'destination' | 'merged' | 'ggufType' | 'hubRepo' | 'hubPublic'>>): void
  start(jobId: string): Promise<void>
  /** Uploads the chosen source (merged or not) with its card to the Hub repository. */
  push(jobId: string): Promise<void>
  cancel(jobId: string): Promise<void>
  applyProgress(progress: ExportProgress): void
}

/** One store for every job's export; use as useExportsStore(selector). */
export const useExportsStore = create<ExportsState>()((set, get) => {
  const update = (jobId: string, change: Partial<JobExport>) =>
    set({ byJob: { ...get().byJob, [jobId]: { ...(get().byJob[jobId] ?? empty), ...change } } })
  return {
    byJob: {},
    async choose(jobId, checkpoint, pickedWhenCompleted) {
      update(jobId, { checkpoint, chosenWhenCompleted: pickedWhenCompleted, plan: null, planError: null })
      try {
        const plan = await getClient().request('exports.plan', { jobId, checkpoint })
        if (get().byJob[jobId]?.checkpoint === checkpoint) update(jobId, { plan })
      } catch (error) {
        if (get().byJob[jobId]?.checkpoint === checkpoint) update(jobId, { planError: errorMessage(error) })
      }
    },
    edit(jobId, change) {
      update(jobId, change)
    },
    async start(jobId) {
      const current = get().byJob[jobId] ?? empty
      update(jobId, { running: true, result: null, pushResult: null, error: null, progress: null })
      try {
        const destination = current.destination?.trim() || undefined
        const result = await getClient().request('exports.start', {
          jobId,
          checkpoint: current.checkpoint,
          destination,
          merged: current.merged,
          ggufType: current.ggufType,
        })
        update(jobId, { running: false, result })
      } catch (error) {
        update(jobId, { running: false, error: errorMessage(error) })
      }
    },
    async push(jobId) {
      const current = get().byJob[jobId] ?? empty
      update(jobId, { running: true, result: null, pushResult: null, error: null, progress: null })
      try {
        const pushResult = await getClient().request('exports.push_hub', {
          jobId,
          checkpoint: current.checkpoint,
          repo: current.hubRepo.trim(),
          merged: current.merged,
          private: !current.hubPublic,
        })
        update(jobId, { running: false, pushResult })
      } catch (error) {
        update(jobId, { running: false, error: errorMessage(error) })
      }
    },
    async cancel(jobId) {
      try {
        await getClient().request('exports.cancel', { jobId })
      } catch (error) {
        update(jobId, { error: errorMessage(error) })
      }
    },
    applyProgress(progress) {
      // An export that ends while this window's request was lost (a reconnect) still ends here.
      const ended = progress.phase === 'done' || progress.phase === 'failed' || progress.phase === 'cancelled'
      update(progress.jobId, ended ? { progress, running: false } : { progress })
    },
  }
})

/** The job's export state (defaults before anything was chosen). */
export function useJobExport(jobId: string): JobExport {
  return useExportsStore((state) => state.byJob[jobId] ?? empty)
}
