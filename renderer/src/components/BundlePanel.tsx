/**
 * "Bundle for a cluster" on a job's page: writes the job as a folder a cluster trains
 * (jobs.bundle), says where it went and what to run for the chosen launcher; in a browser
 * (or driving a remote host) the folder is on the host, so it comes down as a zip as well.
 */
import { useState } from 'react'
import type { Job } from '@shared/jobs'
import { getClient, getShell } from '../api/client'
import { downloadFromServer } from '../api/download'
import { errorMessage } from '../api/errors'
import { defaultBundleFolder, launchCommand, launchers, type Launcher } from '../logic/bundle'
import { useSystemStore } from '../stores/system'

/** The panel; `job` may be in any state (a bundle trains it from the start). */
export function BundlePanel({ job }: { job: Job }) {
  const dataDir = useSystemStore((state) => state.info?.dataDir ?? null)
  const [launcher, setLauncher] = useState<Launcher>('torchrun')
  const [folder, setFolder] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [written, setWritten] = useState<{ path: string; zip?: string } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const browser = !getShell()
  const out = folder ?? (dataDir ? defaultBundleFolder(dataDir, job.name, new Date()) : '')

  const bundle = async (): Promise<void> => {
    setBusy(true)
    setError(null)
    setWritten(null)
    try {
      const result = await getClient().request('jobs.bundle', { jobId: job.id, out, zip: browser })
      setWritten(result)
      setFolder(null)
      if (result.zip) await downloadFromServer(result.zip)
    } catch (caught) {
      setError(errorMessage(caught))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section className="card" data-testid="bundle-panel">
      <h2>Bundle for a cluster</h2>
      <p className="muted">
        The job as a folder that trains on a cluster with its own torch: the config, the dataset, the trainer with its pinned requirements
        and launch files for torchrun, Slurm and SkyPilot. Bring the run back with "Import a cluster run".
      </p>
      <div className="bundle-row">
        <label className="field">
          <span>Run it with</span>
          <select data-testid="bundle-launcher" value={launcher} onChange={(event) => setLauncher(event.target.value as Launcher)}>
            {launchers.map((option) => (
              <option key={option.id} value={option.id}>
                {option.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field grow">
          <span>New folder {browser ? 'on the host' : ''}</span>
          <input
            className="mono"
            data-testid="bundle-folder"
            value={out}
            onChange={(event) => setFolder(event.target.value)}
            spellCheck={false}
          />
        </label>
      </div>
      <button className="primary" data-testid="bundle-write" disabled={busy || !out} onClick={() => void bundle()}>
        {busy ? 'Writing the bundle…' : browser ? 'Bundle and download the zip' : 'Bundle for a cluster'}
      </button>
      {written && (
        <div data-testid="bundle-written">
          <p>
            Wrote the bundle to <span className="mono">{written.path}</span>
            {written.zip && (
              <>
                {' '}
                and its zip <span className="mono">{written.zip}</span> (downloading){' '}
                <button
                  className="small"
                  data-testid="bundle-download"
                  onClick={() => void downloadFromServer(written.zip!).catch((caught: Error) => setError(caught.message))}
                >
                  Download again
                </button>
              </>
            )}
            .
          </p>
          <p className="muted small">In that folder, with {launchers.find((option) => option.id === launcher)?.label}:</p>
          <pre className="mono small" data-testid="bundle-command">
            {launchCommand(launcher)}
          </pre>
        </div>
      )}
      {error && (
        <p className="error-text" data-testid="bundle-error">
          {error}
        </p>
      )}
    </section>
  )
}
