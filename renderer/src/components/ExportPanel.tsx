/**
 * The Export section of a job page: pick the final adapter or a checkpoint, read which
 * loaders take it and why not, choose where the zip goes (and whether to merge), then watch
 * it being written and checked, or pushed to the Hugging Face Hub (HubPushForm). The desktop app may later offer a save dialog for the path.
 */
import { useEffect, useState } from 'react'
import { exportTargetLabels } from '@shared/exports'
import type { Checkpoint, Job } from '@shared/jobs'
import { getClient, getShell } from '../api/client'
import { downloadFromServer } from '../api/download'
import { exportFraction, exportPhaseText } from '../logic/exports'
import { formatBytes } from '../logic/metrics'
import { useExportsStore, useJobExport } from '../stores/exports'
import { GgufTypeField } from './GgufTypeField'
import { HubPushForm } from './HubPushForm'
import { ProgressBar } from './ProgressBar'

/** Shown once the job has an adapter or a checkpoint to export. */
export function ExportPanel({ job, checkpoints }: { job: Job; checkpoints: Checkpoint[] | null }) {
  const state = useJobExport(job.id)
  const { choose, edit, start, cancel, applyProgress } = useExportsStore.getState()
  const completed = job.status === 'completed'
  const hasSource = completed || (checkpoints?.length ?? 0) > 0
  // A completed job defaults to its final adapter, whatever was chosen for it while paused;
  // before that, to its newest checkpoint. Only the user's pick since then overrides it.
  const defaultSource = completed ? null : (checkpoints?.[0]?.name ?? null)
  const needsDefault =
    hasSource &&
    state.chosenWhenCompleted !== completed &&
    !state.running &&
    (state.checkpoint !== defaultSource || (state.plan === null && state.planError === null))

  useEffect(() => getClient().on('export.progress', (progress) => applyProgress(progress)), [applyProgress])
  useEffect(() => {
    // While its report loads, needsDefault stays true but no dependency changes: one request.
    if (needsDefault) void choose(job.id, defaultSource, null)
  }, [job.id, needsDefault, defaultSource])

  if (!hasSource) return null
  const planned = state.merged ? state.plan?.defaultMergedDestination : state.plan?.defaultDestination
  // The host names a merged GGUF's zip <job>-<type>.zip, as it does when no destination is given.
  const defaultDestination = state.ggufType ? planned?.replace(/\.zip$/, `-${state.ggufType}.zip`) : planned
  const progress = state.progress
  return (
    <section className="card export-panel" data-testid="export-panel">
      <h2>Export</h2>
      <div className="export-form">
        <label className="field">
          <span className="field-label">What</span>
          <select
            data-testid="export-source"
            value={state.checkpoint ?? ''}
            disabled={state.running}
            onChange={(event) => void choose(job.id, event.target.value === '' ? null : event.target.value, completed)}
          >
            {completed && <option value="">Final adapter (step {job.step})</option>}
            {(checkpoints ?? []).map((checkpoint) => (
              <option key={checkpoint.name} value={checkpoint.name}>
                Checkpoint {checkpoint.name} (step {checkpoint.step})
              </option>
            ))}
          </select>
        </label>
        <label className="field export-destination">
          <span className="field-label">Save as</span>
          <input
            type="text"
            data-testid="export-destination"
            value={state.destination ?? defaultDestination ?? ''}
            placeholder="path of the .zip"
            disabled={state.running}
            onChange={(event) => edit(job.id, { destination: event.target.value })}
          />
        </label>
        <label className="checkbox">
          <input
            type="checkbox"
            data-testid="export-merged"
            checked={state.merged}
            disabled={state.running}
            onChange={(event) => edit(job.id, { merged: event.target.checked, ggufType: null })}
          />
          Merged model (the adapter merged into the base, 16-bit; loads without PEFT)
        </label>
        <GgufTypeField job={job} />
        <div className="row-actions">
          <button
            data-testid="export-start"
            className="primary"
            disabled={state.running || state.plan === null}
            onClick={() => void start(job.id)}
          >
            {state.running ? 'Exporting…' : 'Export'}
          </button>
          {state.running && (
            <button data-testid="export-cancel" onClick={() => void cancel(job.id)}>
              Cancel
            </button>
          )}
        </div>
      </div>
      <HubPushForm job={job} />
      {state.planError && (
        <p className="error-text" data-testid="export-plan-error">
          {state.planError}
        </p>
      )}
      {state.plan && (
        <table className="table export-compatibility" data-testid="export-compatibility">
          <thead>
            <tr>
              <th>Loader</th>
              <th>Loads it</th>
              <th>Notes</th>
            </tr>
          </thead>
          <tbody>
            {state.plan.compatibility.targets.map((target) => (
              <tr key={target.target} data-testid="export-target" data-target={target.target} data-loads={String(target.loads)}>
                <td>{exportTargetLabels[target.target]}</td>
                <td className={target.loads ? 'ok-text' : 'error-text'}>{target.loads ? 'yes' : 'no'}</td>
                <td className="small">
                  {target.reason}
                  {target.fix && <span className="muted"> To load it: {target.fix}.</span>}
                  {target.target === 'vllm' && target.loads && (
                    <span className="muted">--max-lora-rank {state.plan?.compatibility.vllmMaxLoraRank}</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(state.running || progress?.phase === 'done') && progress && (
        <div className="export-progress" data-testid="export-progress">
          <ProgressBar value={exportFraction(progress)} label="Export progress" tone={progress.phase === 'done' ? 'ok' : 'accent'} />
          <span className="muted small" data-testid="export-phase">
            {exportPhaseText(progress)}
            {(progress.phase === 'zipping' || progress.phase === 'uploading') &&
              ` · ${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}`}
          </span>
        </div>
      )}
      {state.result && (
        <p data-testid="export-result">
          Saved and checked against its manifest ({state.result.files} files, {formatBytes(state.result.bytes)}):{' '}
          <span className="mono" data-testid="export-result-path">
            {state.result.path}
          </span>
          {/* In a browser the zip is on the server: bring it to this machine. */}
          {!getShell() && <DownloadButton path={state.result.path} />}
        </p>
      )}
      {state.error && (
        <p className="error-text" data-testid="export-error">
          {state.error}
        </p>
      )}
    </section>
  )
}

/** "Download the zip": the browser saves the finished export on this machine. */
function DownloadButton({ path }: { path: string }) {
  const [error, setError] = useState<string | null>(null)
  return (
    <>
      {' '}
      <button
        type="button"
        className="small primary"
        data-testid="export-download"
        onClick={() =>
          void downloadFromServer(path).then(
            () => setError(null),
            (caught: Error) => setError(caught.message),
          )
        }
      >
        Download the zip
      </button>
      {error && (
        <span className="error-text small" data-testid="export-download-error">
          {' '}
          {error}
        </span>
      )}
    </>
  )
}
