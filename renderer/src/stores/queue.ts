/** The job queue: whether it takes jobs, how many run at once, and reordering. */
import { create } from 'zustand'
import type { QueueState } from '@shared/jobs'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { useJobsStore } from './jobs'

interface QueueStore {
  state: QueueState | null
  error: string | null
  load(): Promise<void>
  set(change: Partial<QueueState>): Promise<void>
  /** Moves a queued job to a 1-based position. */
  move(jobId: string, position: number): Promise<void>
  /** The state another window (or this one) set, from a queue.updated event. */
  apply(state: QueueState): void
}

/** One store for the queue; use as useQueueStore(selector). */
export const useQueueStore = create<QueueStore>()((set) => ({
  state: null,
  error: null,
  async load() {
    try {
      set({ state: await getClient().request('queue.get', {}), error: null })
    } catch (error) {
      set({ error: `Queue: ${errorMessage(error)}` })
    }
  },
  async set(change) {
    try {
      set({ state: await getClient().request('queue.set', change), error: null })
    } catch (error) {
      set({ error: `Queue: ${errorMessage(error)}` })
    }
  },
  apply(state) {
    set({ state })
  },
  async move(jobId, position) {
    try {
      const jobs = await getClient().request('queue.move', { jobId, position })
      for (const job of jobs) useJobsStore.getState().apply(job)
      set({ error: null })
    } catch (error) {
      set({ error: `Queue: ${errorMessage(error)}` })
    }
  },
}))
