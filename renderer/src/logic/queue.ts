/**
 * The queue as the sidebar shows it. The host numbers queued jobs, but it
 * renumbers without telling every window when a job leaves the queue, so
 * the window ranks the queued jobs it knows by their stored position and
 * shows 1..n from that: the order is right even when a number is stale.
 */
import type { Job } from '@shared/jobs'

/** Queued jobs in the order they will start (ties: the older job first). */
export function queueOrder(jobs: readonly Job[]): Job[] {
  return jobs
    .filter((job) => job.status === 'queued')
    .sort((a, b) => (a.queuePosition ?? Infinity) - (b.queuePosition ?? Infinity) || a.createdAt - b.createdAt || a.id.localeCompare(b.id))
}

/** Each queued job's 1-based place, by id. */
export function queueRanks(jobs: readonly Job[]): Map<string, number> {
  return new Map(queueOrder(jobs).map((job, index) => [job.id, index + 1]))
}

/**
 * The position to send to queue.move for one step up or down, or null when
 * the job is already first (up) or last (down), or not queued.
 */
export function moveTarget(ranks: ReadonlyMap<string, number>, jobId: string, direction: 'up' | 'down'): number | null {
  const rank = ranks.get(jobId)
  if (rank === undefined) return null
  const target = direction === 'up' ? rank - 1 : rank + 1
  return target < 1 || target > ranks.size ? null : target
}
