/**
 * "Import a cluster run" under the jobs list: brings back what a bundle's run wrote (events,
 * checkpoints, adapter) as a new job and opens it. The desktop app names the run's folder on
 * this machine; a browser (or a window driving a remote host) uploads the folder's zip.
 */
import { useState, type FormEvent } from 'react'
import type { Job } from '@shared/jobs'
import { getClient, getShell } from '../api/client'
import { errorMessage } from '../api/errors'
import { uploadRunZip } from '../api/upload'
import { useJobsStore } from '../stores/jobs'
import { useNavigationStore } from '../stores/navigation'

/** The sidebar's button and, once pressed, its small form. */
export function ImportRunPanel() {
  const [open, setOpen] = useState(false)
  const [folder, setFolder] = useState('')
  const [busy, setBusy] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const show = useNavigationStore((state) => state.open)
  const apply = useJobsStore((state) => state.apply)
  const shell = getShell()

  const imported = (job: Job): void => {
    apply(job)
    setOpen(false)
    setFolder('')
    show({ name: 'job', jobId: job.id })
  }
  const run = async (work: () => Promise<Job>, what: string): Promise<void> => {
    setBusy(what)
    setError(null)
    try {
      imported(await work())
    } catch (caught) {
      setError(errorMessage(caught))
    } finally {
      setBusy(null)
    }
  }
  const fromFolder = (event: FormEvent): void => {
    event.preventDefault()
    void run(() => getClient().request('jobs.import_run', { path: folder.trim() }), 'Importing…')
  }
  const fromZip = (file: File | undefined): void => {
    if (!file) return
    void run(
      () => uploadRunZip(file, (sent, total) => setBusy(`Uploading ${Math.round((100 * sent) / Math.max(total, 1))}%…`)).done,
      'Uploading…',
    )
  }

  if (!open) {
    return (
      <button className="nav-link" data-testid="import-run-open" onClick={() => setOpen(true)}>
        Import a cluster run
      </button>
    )
  }
  return (
    <div className="card import-run" data-testid="import-run">
      <strong>Import a cluster run</strong>
      <p className="muted small">What a bundle's run wrote comes back as a new job: its curve, checkpoints and adapter.</p>
      {shell ? (
        <form onSubmit={fromFolder} className="import-run-form">
          <input
            className="mono"
            data-testid="import-run-folder"
            placeholder="the bundle folder, or its job folder"
            value={folder}
            onChange={(event) => setFolder(event.target.value)}
            spellCheck={false}
          />
          <button type="button" className="small" onClick={() => void shell.pickPath('run-folder').then((path) => path && setFolder(path))}>
            Choose…
          </button>
          <button type="submit" className="small primary" data-testid="import-run-submit" disabled={busy !== null || folder.trim() === ''}>
            Import
          </button>
        </form>
      ) : (
        <label className="field small">
          <span>The run folder as a .zip</span>
          <input
            type="file"
            accept=".zip"
            data-testid="import-run-zip"
            disabled={busy !== null}
            onChange={(event) => fromZip(event.target.files?.[0])}
          />
        </label>
      )}
      {busy && <p className="muted small">{busy}</p>}
      {error && (
        <p className="error-text small" data-testid="import-run-error">
          {error}
        </p>
      )}
      <button className="small" onClick={() => setOpen(false)}>
        Close
      </button>
    </div>
  )
}
