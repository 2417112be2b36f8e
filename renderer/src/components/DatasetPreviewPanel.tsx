/**
 * What the trainer makes of the chosen dataset: the detected format, how many
 * rows it can use, the first records as it normalises them, and the rows it
 * would skip or fail on, each with its line or row, field and message.
 */
import {
  badRowsHeadline,
  describeCounts,
  describeRowError,
  summariseRecord,
  type PreviewState,
  type ReadProgress,
} from '../logic/datasetPreview'
import { formatBytes } from '../logic/metrics'
import { ProgressBar } from './ProgressBar'

/** Bad rows listed; the count above says how many there are in all. */
const shownErrors = 8

/** The panel under the dataset field; nothing while no path is typed. */
export function DatasetPreviewPanel({ state }: { state: PreviewState }) {
  if (state.status === 'idle' || state.status === 'failed') return null
  if (state.status === 'loading') return <PreviewReading path={state.path} progress={state.progress} cancel={state.cancel} />
  if (state.status === 'cancelled') {
    return (
      <section className="preview" data-testid="dataset-preview" data-status="cancelled">
        <p className="muted small">
          Stopped before the end of {state.path}: its rows and tokens were not all counted.{' '}
          <button type="button" className="small" data-testid="dataset-preview-again" onClick={state.retry}>
            Preview again
          </button>
        </p>
      </section>
    )
  }
  const { preview } = state
  if (!preview.ok) return null
  return (
    <section className="preview" data-testid="dataset-preview" data-status="done">
      <div className="preview-header">
        <span>
          Format <strong data-testid="dataset-preview-format">{preview.format ?? 'unknown'}</strong>
        </span>
        <span className="muted" data-testid="dataset-preview-counts">
          {describeCounts(preview)}
        </span>
        {preview.mix !== null && (
          <span className="muted" data-testid="dataset-preview-mixed">
            The first rows of the mix, in training order
          </span>
        )}
      </div>
      {preview.records.length > 0 && (
        <ol className="preview-records" data-testid="dataset-preview-records">
          {preview.records.map((record, index) => (
            <li key={index} className="preview-record">
              {summariseRecord(record).map((line, lineIndex) => (
                <div key={lineIndex} className="preview-line">
                  <span className="preview-label">{line.label}:</span> {line.text}
                </div>
              ))}
            </li>
          ))}
        </ol>
      )}
      {preview.errors.length > 0 && (
        <div className="preview-errors" data-testid="dataset-preview-bad-rows">
          <div className="error-text small" data-testid="dataset-preview-bad-rows-headline">
            {badRowsHeadline(preview)}
            {preview.errors.length > shownErrors ? ` The first ${shownErrors}:` : ''}
          </div>
          <ul className="plain small">
            {preview.errors.slice(0, shownErrors).map((error, index) => (
              <li key={index} data-testid="dataset-preview-bad-row">
                <span className="mono">{describeRowError(error)}</span>: {error.message}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  )
}

/** While a file is read: how much of it, and a way to stop (a gigabyte of rows takes minutes to tokenise). */
export function PreviewReading({ path, progress, cancel }: { path: string; progress: ReadProgress | null; cancel: () => void }) {
  return (
    <section className="preview" data-testid="dataset-preview" data-status="loading">
      <div className="preview-reading">
        <span className="muted small" data-testid="dataset-preview-progress">
          {progress && progress.total > 0
            ? `Reading ${path}: ${formatBytes(progress.done)} of ${formatBytes(progress.total)} (${Math.floor((progress.done / progress.total) * 100)} %)`
            : `Reading ${path}…`}
        </span>
        <button type="button" className="small" data-testid="dataset-preview-cancel" onClick={cancel}>
          Cancel
        </button>
      </div>
      {progress && progress.total > 0 && <ProgressBar value={progress.done / progress.total} label={`Reading ${path}`} />}
    </section>
  )
}
