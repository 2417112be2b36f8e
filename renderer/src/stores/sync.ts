/**
 * Wires host events into the stores and refetches after a reconnect, since
 * events sent while the connection was down are gone.
 */
import type { ConnectionState } from '../api/websocket'
import type { AppClient } from '../api/client'
import { useJobsStore } from './jobs'
import { useMetricsStore } from './metrics'
import { useNavigationStore, type Page } from './navigation'
import { useQueueStore } from './queue'
import { useReportStore } from './report'
import { useSystemStore } from './system'
import { useTerminalStore } from './terminal'
import { create } from 'zustand'

/** The connection as the status bar shows it. */
export const useConnectionStore = create<{ connection: ConnectionState }>()(() => ({
  connection: { status: 'connecting', reconnected: false },
}))

/**
 * Loads everything the current page needs for one job: the metrics first, since the loss chart is
 * what the page waits for, and the job, its terminal and its report beside them.
 */
export function loadJobPage(jobId: string): void {
  void useMetricsStore.getState().load(jobId)
  void useJobsStore.getState().loadOne(jobId)
  void useTerminalStore.getState().load(jobId)
  void useReportStore.getState().load(jobId)
}

/**
 * Loads a job page's data as soon as the page is chosen: the requests leave before React renders
 * the page (its terminal and charts take a while to mount) and, at start, before the shared lists.
 * Opening a job of 100,000 steps waited for that render before asking for its history.
 */
function followJobPages(): () => void {
  const opened = (page: Page): string | null => (page.name === 'job' ? page.jobId : null)
  const first = opened(useNavigationStore.getState().page)
  if (first !== null) loadJobPage(first)
  return useNavigationStore.subscribe((state, previous) => {
    const jobId = opened(state.page)
    if (jobId !== null && jobId !== opened(previous.page)) loadJobPage(jobId)
  })
}

/** Subscribes the stores to the client's events; returns an unsubscribe for all of them. */
export function startSync(client: AppClient): () => void {
  const stops = [
    client.on('job.updated', (job) => {
      const before = useJobsStore.getState().byId[job.id]?.status
      useJobsStore.getState().apply(job)
      // A job that stops (completed, paused, failed...) has written its adapter or checkpoint: sizes changed.
      if (before !== job.status && !['queued', 'starting', 'running'].includes(job.status)) void useJobsStore.getState().refreshDisk()
    }),
    client.on('job.deleted', ({ jobId }) => useJobsStore.getState().forget(jobId)),
    client.on('job.metrics', ({ jobId, points }) => useMetricsStore.getState().append(jobId, points)),
    client.on('job.terminal', ({ jobId, data }) => useTerminalStore.getState().append(jobId, data)),
    client.on('job.report', (report) => useReportStore.getState().apply(report)),
    client.on('queue.updated', (state) => useQueueStore.getState().apply(state)),
    client.on('gpu.sample', (sample) => useSystemStore.getState().applyGpu(sample)),
    client.on('python.setup', (progress) => useSystemStore.getState().applySetup(progress)),
    followJobPages(),
    client.onConnection((connection) => {
      useConnectionStore.setState({ connection })
      if (connection.status === 'open' && connection.reconnected) refetchAll()
    }),
  ]
  loadShared()
  return () => stops.forEach((stop) => stop())
}

/** What every page shows: the job list, the machine and the queue. */
function loadShared(): void {
  void useJobsStore.getState().load()
  void useJobsStore.getState().refreshDisk()
  void useSystemStore.getState().load()
  void useQueueStore.getState().load()
}

// The open job page's history is loaded when the page is chosen (followJobPages); after a
// reconnect it has to be fetched again, the same way.
function refetchAll(): void {
  loadShared()
  const page = useNavigationStore.getState().page
  if (page.name === 'job') loadJobPage(page.jobId)
}
