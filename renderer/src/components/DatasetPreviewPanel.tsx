/**
 * What the trainer makes of the chosen dataset: the detected format, how many
 * rows it can use, the first records as it normalises them, and the rows it
 * would skip or fail on, each with its line or row, field and message.
 */
import { badRowsHeadline, describeCounts, describeRowError, summariseRecord } from '../logic/datasetPreview'
import type { PreviewState } from './useDatasetPreview'

/** Bad rows listed; the count above says how many there are in all. */
const shownErrors = 8

/** The panel under the dataset field; nothing while no path is typed. */
export function DatasetPreviewPanel({ state }: { state: PreviewState }) {
  if (state.status === 'idle' || state.status === 'failed') return null
  if (state.status === 'loading') {
    return (
      <section className="preview" data-testid="dataset-preview" data-status="loading">
        <p className="muted small">Reading {state.path}…</p>
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
