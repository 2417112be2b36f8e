/** The job's checkpoints (name, kind, step, loss, time, size), with delete and "new job from these weights". */
import { useState } from 'react'
import type { Checkpoint, Job } from '@shared/jobs'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { formatBytes, formatLoss, toSeconds } from '../logic/metrics'
import { useNavigationStore } from '../stores/navigation'

/** Props: the job, its checkpoints (null while loading), a load error, and how to fetch again. */
export function CheckpointList({ job, checkpoints, loadError, refresh }: { job: Job; checkpoints: Checkpoint[] | null; loadError: string | null; refresh: () => Promise<void> }) {
  const [error, setError] = useState<string | null>(null)
  const [deleting, setDeleting] = useState<string | null>(null)
  // Deleting is for good, and the pause checkpoint is what resume needs: ask once, inline.
  const [confirming, setConfirming] = useState<string | null>(null)
  const open = useNavigationStore((state) => state.open)

  const remove = async (name: string): Promise<void> => {
    setConfirming(null)
    setDeleting(name)
    try {
      await getClient().request('jobs.delete_checkpoint', { jobId: job.id, name })
      setError(null)
      await refresh()
    } catch (caught) {
      setError(`Could not delete checkpoint "${name}": ${errorMessage(caught)}`)
    } finally {
      setDeleting(null)
    }
  }

  return (
    <section className="card" data-testid="checkpoints">
      <h2>Checkpoints</h2>
      {(error ?? loadError) && <p className="error-text">{error ?? loadError}</p>}
      {checkpoints && checkpoints.length === 0 && <p className="muted">No checkpoints yet. Pausing or “Save checkpoint” creates one.</p>}
      {checkpoints && checkpoints.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th className="number">Step</th>
              <th className="number">Loss</th>
              <th>Saved</th>
              <th className="number">Size</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {checkpoints.map((checkpoint) => (
              <tr key={checkpoint.name} data-testid="checkpoint-row" data-name={checkpoint.name}>
                <td className="mono">{checkpoint.name}</td>
                <td>{checkpoint.kind}</td>
                <td className="number">{checkpoint.step}</td>
                <td className="number">{formatLoss(checkpoint.loss)}</td>
                <td>{new Date(toSeconds(checkpoint.time) * 1000).toLocaleString()}</td>
                <td className="number">{formatBytes(checkpoint.bytes)}</td>
                <td className="number row-actions">
                  <button
                    className="small"
                    data-testid="checkpoint-new-job"
                    title="A new job that starts from this checkpoint's adapter weights, with a fresh optimizer"
                    onClick={() => open({ name: 'new', from: { jobId: job.id, checkpoint: checkpoint.name } })}
                  >
                    New job from these weights
                  </button>
                  <button className="small" data-testid="checkpoint-chat" title="Chat with this checkpoint's adapter" onClick={() => open({ name: 'chat', source: { jobId: job.id, checkpoint: checkpoint.name } })}>
                    Chat
                  </button>
                  {confirming === checkpoint.name ? (
                    <>
                      <button className="small danger" data-testid="checkpoint-delete-confirm" onClick={() => void remove(checkpoint.name)}>
                        Delete it
                      </button>
                      <button className="small" onClick={() => setConfirming(null)}>
                        Keep
                      </button>
                    </>
                  ) : (
                    <button className="small danger-quiet" data-testid="checkpoint-delete" disabled={deleting !== null} onClick={() => setConfirming(checkpoint.name)}>
                      {deleting === checkpoint.name ? 'Deleting…' : 'Delete'}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
