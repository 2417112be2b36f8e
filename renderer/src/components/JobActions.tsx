/**
 * Pause, resume, cancel and save-checkpoint buttons, each enabled only in the
 * states that allow it. The checkpoint name and the cancel confirmation are
 * small inline forms; host errors show beside the buttons.
 */
import { useEffect, useState, type FormEvent } from 'react'
import type { Job } from '@shared/jobs'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { allowedActions, isActive } from '../logic/actions'
import { rerunInput, rerunName } from '../logic/rerun'
import { useJobsStore, type JobAction } from '../stores/jobs'
import { useNavigationStore } from '../stores/navigation'

/** Props: the job, whether it has a checkpoint to resume from, and what to call after one was requested. */
export function JobActions({
  job,
  hasCheckpoint,
  onCheckpointRequested,
}: {
  job: Job
  hasCheckpoint: boolean
  onCheckpointRequested: () => void
}) {
  const act = useJobsStore((state) => state.act)
  const [busy, setBusy] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const [naming, setNaming] = useState(false)
  const [confirmingCancel, setConfirmingCancel] = useState(false)
  const [confirmingDelete, setConfirmingDelete] = useState(false)
  const remove = useJobsStore((state) => state.remove)
  const open = useNavigationStore((state) => state.open)
  const deletable = !isActive(job.status)
  const createJob = useJobsStore((state) => state.create)
  const finished = job.status === 'failed' || job.status === 'cancelled' || job.status === 'completed' || job.status === 'interrupted'
  const [name, setName] = useState('')
  const allowed = allowedActions(job.status, hasCheckpoint)

  // A notice or error about the previous state means nothing once the status moved on.
  useEffect(() => {
    setNotice(null)
    setError(null)
  }, [job.status])

  const run = async (label: string, work: () => Promise<unknown>): Promise<boolean> => {
    setBusy(label)
    setError(null)
    setNotice(null)
    try {
      await work()
      return true
    } catch (caught) {
      setError(`${label} failed: ${errorMessage(caught)}`)
      return false
    } finally {
      setBusy(null)
    }
  }

  const doAction = (action: JobAction, label: string): void => {
    void run(label, () => act(job.id, action))
  }

  const saveCheckpoint = async (event: FormEvent): Promise<void> => {
    event.preventDefault()
    const trimmed = name.trim()
    if (!trimmed) {
      setError('Give the checkpoint a name, for example "before-lr-change".')
      return
    }
    const ok = await run('Save checkpoint', () => getClient().request('jobs.checkpoint', { jobId: job.id, name: trimmed }))
    if (ok) {
      setNaming(false)
      setName('')
      setNotice(`Checkpoint "${trimmed}" will be saved after the current step.`)
      onCheckpointRequested()
    }
  }

  return (
    <div className="actions">
      <div className="action-buttons">
        <button data-testid="action-pause" disabled={!allowed.pause || busy !== null} onClick={() => doAction('pause', 'Pause')}>
          Pause
        </button>
        <button
          data-testid="action-resume"
          className="primary"
          disabled={!allowed.resume || busy !== null}
          onClick={() => doAction('resume', 'Resume')}
        >
          Resume
        </button>
        <button data-testid="action-checkpoint" disabled={!allowed.checkpoint || busy !== null || naming} onClick={() => setNaming(true)}>
          Save checkpoint
        </button>
        <button
          data-testid="action-cancel"
          className="danger"
          disabled={!allowed.cancel || busy !== null || confirmingCancel}
          onClick={() => setConfirmingCancel(true)}
        >
          Cancel
        </button>
        <button
          data-testid="action-rerun"
          disabled={!finished || busy !== null}
          title="A new job with these settings (after you fixed what made it fail, for instance)"
          onClick={() =>
            void run('Run again', async () =>
              open({ name: 'job', jobId: (await createJob(rerunInput(job.config, rerunName(job.name)))).id }),
            )
          }
        >
          Run again
        </button>
        <button
          data-testid="action-rerun-edit"
          disabled={!finished || busy !== null}
          title="The new-job form filled with these settings: change what you want, then start"
          onClick={() => open({ name: 'new', again: job.id })}
        >
          Change and run again…
        </button>
        <button
          data-testid="action-delete"
          className="danger"
          disabled={!deletable || busy !== null || confirmingDelete}
          title={deletable ? 'Delete this job and its files' : 'Cancel the job before deleting it'}
          onClick={() => setConfirmingDelete(true)}
        >
          Delete
        </button>
      </div>
      {naming && allowed.checkpoint && (
        <form className="inline-form" onSubmit={(event) => void saveCheckpoint(event)}>
          <input
            data-testid="checkpoint-name"
            autoFocus
            placeholder="checkpoint name"
            maxLength={80}
            value={name}
            onChange={(event) => setName(event.target.value)}
          />
          <button data-testid="checkpoint-save" className="primary" type="submit" disabled={busy !== null}>
            Save
          </button>
          <button type="button" onClick={() => setNaming(false)}>
            Close
          </button>
        </form>
      )}
      {confirmingCancel && allowed.cancel && (
        <div className="inline-form">
          <span>Stop this job for good? Its checkpoints are kept.</span>
          <button
            data-testid="cancel-confirm"
            className="danger"
            onClick={() => {
              setConfirmingCancel(false)
              doAction('cancel', 'Cancel')
            }}
          >
            Yes, cancel it
          </button>
          <button onClick={() => setConfirmingCancel(false)}>Keep training</button>
        </div>
      )}
      {confirmingDelete && deletable && (
        <div className="inline-form">
          <span>Delete this job with its checkpoints, adapter, metrics and logs? This cannot be undone.</span>
          <button
            data-testid="delete-confirm"
            className="danger"
            onClick={() => {
              setConfirmingDelete(false)
              void run('Delete', () => remove(job.id)).then((ok) => ok && open({ name: 'home' }))
            }}
          >
            Yes, delete it
          </button>
          <button onClick={() => setConfirmingDelete(false)}>Keep it</button>
        </div>
      )}
      {busy && <div className="muted small">{busy}…</div>}
      {error && (
        <div className="error-text" data-testid="action-error">
          {error}
        </div>
      )}
      {notice && <div className="muted small">{notice}</div>}
    </div>
  )
}
