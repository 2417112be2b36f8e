/** Jobs: the list the sidebar shows and each job's latest state, kept current by job.updated. */
import { create } from 'zustand'
import type { Job, NewJobInput } from '@shared/jobs'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'

export type JobAction = 'pause' | 'resume' | 'cancel'

interface JobsState {
  byId: Record<string, Job>
  /** Newest first. */
  list: Job[]
  loaded: boolean
  /** Why the last load failed, shown in the sidebar. */
  loadError: string | null
  /** Fetches every job (on start and after a reconnect). */
  load(): Promise<void>
  /** Fetches one job, for a page opened directly or reloaded. */
  loadOne(jobId: string): Promise<void>
  /** Applies a job.updated event or a route's answer. */
  apply(job: Job): void
  /** Creates a job; rejects with the host's AppError so the form can place it. */
  create(input: NewJobInput): Promise<Job>
  /** Pause, resume or cancel; rejects with the host's AppError. */
  act(jobId: string, action: JobAction): Promise<Job>
  /** Deletes a job that is not training; rejects with the host's AppError. */
  remove(jobId: string): Promise<void>
  /** Drops a job deleted by any window (job.deleted). */
  forget(jobId: string): void
  /** Bytes each job's folder takes, by id; refreshed with refreshDisk(). */
  disk: Record<string, number>
  refreshDisk(): Promise<void>
}

function sortJobs(byId: Record<string, Job>): Job[] {
  return Object.values(byId).sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id))
}

/** One store for all jobs; use as useJobsStore(selector). */
export const useJobsStore = create<JobsState>()((set, get) => ({
  byId: {},
  list: [],
  loaded: false,
  loadError: null,
  async load() {
    try {
      const jobs = await getClient().request('jobs.list', {})
      const byId: Record<string, Job> = {}
      for (const job of jobs) byId[job.id] = job
      set({ byId, list: sortJobs(byId), loaded: true, loadError: null })
    } catch (error) {
      set({ loaded: true, loadError: `Could not load jobs: ${errorMessage(error)}` })
    }
  },
  async loadOne(jobId) {
    try {
      get().apply(await getClient().request('jobs.get', { jobId }))
    } catch {
      // The page shows "not found" from the missing entry; nothing else to do.
    }
  },
  apply(job) {
    const byId = { ...get().byId, [job.id]: job }
    set({ byId, list: sortJobs(byId) })
  },
  async create(input) {
    const job = await getClient().request('jobs.create', input)
    get().apply(job)
    return job
  },
  async remove(jobId) {
    await getClient().request('jobs.delete', { jobId })
    get().forget(jobId)
  },
  forget(jobId) {
    if (!get().byId[jobId]) return
    const { [jobId]: _deleted, ...byId } = get().byId
    set({ byId, list: sortJobs(byId) })
  },
  disk: {},
  async refreshDisk() {
    try {
      set({ disk: await getClient().request('jobs.disk', {}) })
    } catch {
      // Sizes are a nicety: the list works without them.
    }
  },
  async act(jobId, action) {
    const route = action === 'pause' ? 'jobs.pause' : action === 'resume' ? 'jobs.resume' : 'jobs.cancel'
    const job = await getClient().request(route, { jobId })
    get().apply(job)
    return job
  },
}))

/** The job with this id, or undefined until it is loaded. */
export function useJob(jobId: string | null): Job | undefined {
  return useJobsStore((state) => (jobId ? state.byId[jobId] : undefined))
}
