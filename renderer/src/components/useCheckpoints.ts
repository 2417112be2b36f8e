/** The job's checkpoints from jobs.checkpoints, fetched on open, on status changes and while it trains. */
import { useCallback, useEffect, useState } from 'react'
import type { Checkpoint, Job } from '@shared/jobs'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { isActive } from '../logic/actions'

/** `refreshKey` changing fetches again (after a checkpoint was requested). */
export function useCheckpoints(
  job: Job,
  refreshKey: number,
): { checkpoints: Checkpoint[] | null; error: string | null; refresh: () => Promise<void> } {
  const [checkpoints, setCheckpoints] = useState<Checkpoint[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const active = isActive(job.status)

  const refresh = useCallback(async () => {
    try {
      setCheckpoints(await getClient().request('jobs.checkpoints', { jobId: job.id }))
      setError(null)
    } catch (caught) {
      setError(`Could not list checkpoints: ${errorMessage(caught)}`)
    }
  }, [job.id])

  // Poll only while the trainer may write new ones.
  useEffect(() => {
    void refresh()
    if (!active) return
    const timer = setInterval(() => void refresh(), 5000)
    return () => clearInterval(timer)
  }, [refresh, job.status, refreshKey, active])

  return { checkpoints, error, refresh }
}
