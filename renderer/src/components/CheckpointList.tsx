/**
 * The job's checkpoints (name, kind, step, loss, time, size), with delete (one, or the ticked ones
 * at once), "new job from these weights" and chat.
 */
import { useState } from 'react'
import type { Checkpoint, Job } from '@shared/jobs'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { formatBytes, formatLoss, toSeconds } from '../logic/metrics'
import { useNavigationStore } from '../stores/navigation'

/** Props: the job, its checkpoints (null while loading), a load error, and how to fetch again. */
export function CheckpointList({
  job,
  checkpoints,
  loadError,
  refresh,
}: {
  job: Job
  checkpoints: Checkpoint[] | null
  loadError: string | null
  refresh: () => Promise<void>
}) {
  const [error, setError] = useState<string | null>(null)
  const [deleting, setDeleting] = useState<string | null>(null)
  // Deleting is for good, and the pause checkpoint is what resume needs: ask once, inline.
  const [confirming, setConfirming] = useState<string | null>(null)
  const open = useNavigationStore((state) => state.open)
  const [ticked, setTicked] = useState<ReadonlySet<string>>(new Set())
  const [confirmingMany, setConfirmingMany] = useState(false)
  const present = new Set((checkpoints ?? []).map((checkpoint) => checkpoint.name))
  const chosen = [...ticked].filter((name) => present.has(name))

  const toggle = (name: string): void => {
    const next = new Set(ticked)
    if (next.has(name)) next.delete(name)
    else next.add(name)
    setTicked(next)
  }

  /** Deletes the ticked checkpoints one by one; those the host keeps (a waiting job needs them) are named. */
  const removeMany = async (): Promise<void> => {
    setConfirmingMany(false)
    const refused: string[] = []
    for (const name of chosen) {
      setDeleting(name)
      try {
        await getClient().request('jobs.delete_checkpoint', { jobId: job.id, name })
      } catch (caught) {
        refused.push(`"${name}": ${errorMessage(caught)}`)
      }
    }
    setDeleting(null)
    setTicked(new Set())
    setError(refused.length > 0 ? `Kept ${refused.length} of ${chosen.length}: ${refused.join('; ')}` : null)
    await refresh()
  }

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
      {chosen.length > 0 && (
        <div className="inline-form" data-testid="checkpoints-selected">
          <span>{chosen.length} ticked</span>
          {confirmingMany ? (
            <>
              <span>Delete them for good? A paused job needs its pause checkpoint to resume.</span>
              <button className="small danger" data-testid="checkpoints-delete-confirm" onClick={() => void removeMany()}>
                Delete {chosen.length}
              </button>
              <button className="small" onClick={() => setConfirmingMany(false)}>
                Keep them
              </button>
            </>
          ) : (
            <button
              className="small danger"
              data-testid="checkpoints-delete"
              disabled={deleting !== null}
              onClick={() => setConfirmingMany(true)}
            >
              Delete ticked
            </button>
          )}
        </div>
      )}
      {checkpoints && checkpoints.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>
                <input
                  type="checkbox"
                  aria-label="Tick every checkpoint"
                  data-testid="checkpoints-tick-all"
                  checked={chosen.length === checkpoints.length}
                  onChange={(event) => setTicked(new Set(event.target.checked ? checkpoints.map((checkpoint) => checkpoint.name) : []))}
                />
              </th>
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
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Tick ${checkpoint.name}`}
                    data-testid="checkpoint-tick"
                    checked={ticked.has(checkpoint.name)}
                    onChange={() => toggle(checkpoint.name)}
                  />
                </td>
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
                    title="A new job that starts from this checkpoint's adapter weights (and, if you tick it in the form, its optimizer state)"
                    onClick={() => open({ name: 'new', from: { jobId: job.id, checkpoint: checkpoint.name } })}
                  >
                    New job from these weights
                  </button>
                  <button
                    className="small"
                    data-testid="checkpoint-chat"
                    title="Chat with this checkpoint's adapter"
                    onClick={() => open({ name: 'chat', source: { jobId: job.id, checkpoint: checkpoint.name } })}
                  >
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
                    <button
                      className="small danger-quiet"
                      data-testid="checkpoint-delete"
                      disabled={deleting !== null}
                      onClick={() => setConfirming(checkpoint.name)}
                    >
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
