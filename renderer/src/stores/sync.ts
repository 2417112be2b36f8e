/**
 * Wires host events into the stores and refetches after a reconnect, since
 * events sent while the connection was down are gone.
 */
import type { ConnectionState } from '../api/websocket'
import type { AppClient } from '../api/client'
import { useJobsStore } from './jobs'
import { useMetricsStore } from './metrics'
import { useNavigationStore } from './navigation'
import { useQueueStore } from './queue'
import { useReportStore } from './report'
import { useSystemStore } from './system'
import { useTerminalStore } from './terminal'
import { create } from 'zustand'

/** The connection as the status bar shows it. */
export const useConnectionStore = create<{ connection: ConnectionState }>()(() => ({
  connection: { status: 'connecting', reconnected: false },
}))

/** Loads everything the current page needs for one job. */
export function loadJobPage(jobId: string): void {
  void useJobsStore.getState().loadOne(jobId)
  void useMetricsStore.getState().load(jobId)
  void useTerminalStore.getState().load(jobId)
  void useReportStore.getState().load(jobId)
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

// The open job page loads its own history when it mounts; after a reconnect
// it has to be fetched again, the same way.
function refetchAll(): void {
  loadShared()
  const page = useNavigationStore.getState().page
  if (page.name === 'job') loadJobPage(page.jobId)
}
