/**
 * The mix of datasets in the new-job form (dataset.mix): more library datasets beside the first, each
 * read the way the Datasets page reads it and given a weight, and what the preview counts of the mix
 * (rows of each, the total and the optimizer steps), drawn with the job's seed as the trainer draws it.
 */
import type { DatasetEntry, MixPart } from '@shared/datasets'
import { datasetFormatTable, type DatasetFormat } from '@shared/methods'
import { mixRowOf, type MixRow } from '../logic/datasetMix'
import type { FieldKey, NewJobFormValues } from '../logic/newJobForm'
import { plural } from '../logic/datasetPreview'
import type { PreviewState } from '../logic/datasetPreview'

interface Props {
  values: NewJobFormValues
  change(patch: Partial<NewJobFormValues>): void
  library: readonly DatasetEntry[]
  errors: Partial<Record<FieldKey, string>>
  preview: PreviewState
  /** Optimizer steps the mix makes, when the preview has counted its tokens. */
  steps: number | null
}

/** A dataset's name: the library's, else its file name. */
function nameOf(library: readonly DatasetEntry[], path: string): string {
  return library.find((dataset) => dataset.path === path)?.name ?? path.split(/[\\/]/).pop() ?? path
}

function readAs(format: string | null): string {
  return format === null ? 'unreadable' : (datasetFormatTable[format as DatasetFormat]?.label ?? format)
}

export function DatasetMix({ values, change, library, errors, preview, steps }: Props) {
  const rows = values.mix
  const update = (index: number, patch: Partial<MixRow>) =>
    change({ mix: rows.map((row, at) => (at === index ? { ...row, ...patch } : row)) })
  const chosen = new Set([values.datasetPath.trim(), ...rows.map((row) => row.path)])
  const offered = library.filter((dataset) => !chosen.has(dataset.path))
  const parts: MixPart[] | null = preview.status === 'done' && rows.length > 0 ? preview.preview.mix : null
  const error = errors['dataset.mix'] ?? errors['dataset.weight']
  return (
    <section className="dataset-mix" data-testid="dataset-mix">
      <h3 className="form-section">Mix of datasets</h3>
      <p className="muted small">
        Train on more datasets beside this one, each read its own way. A weight is the share of a dataset’s rows the job takes: 1 all of
        them, 0.5 half, 2 each twice; the rows are drawn and interleaved with the training seed.
      </p>
      {rows.length > 0 && (
        <div className="mix-row" data-testid="mix-first">
          <span className="mix-name">
            {values.datasetPath.trim() === '' ? 'The dataset above' : nameOf(library, values.datasetPath.trim())}
          </span>
          <input
            data-testid="dataset-weight"
            aria-label="Weight of the dataset above"
            value={values.datasetWeight}
            placeholder="1"
            onChange={(event) => change({ datasetWeight: event.target.value })}
          />
        </div>
      )}
      {rows.map((row, index) => (
        <div className="mix-row" key={`${row.path}-${index}`} data-testid="mix-row">
          <span className="mix-name">{nameOf(library, row.path)}</span>
          <span className="muted small">
            {row.format === 'auto'
              ? `${library.find((dataset) => dataset.path === row.path)?.format ?? 'format'}, detected`
              : readAs(row.format)}
          </span>
          <input
            data-testid="mix-weight"
            aria-label={`Weight of ${nameOf(library, row.path)}`}
            value={row.weight}
            placeholder="1"
            onChange={(event) => update(index, { weight: event.target.value })}
          />
          <button
            type="button"
            className="small danger-quiet"
            data-testid="mix-remove"
            onClick={() => change({ mix: rows.filter((_, at) => at !== index) })}
          >
            Remove
          </button>
        </div>
      ))}
      <div className="mix-actions">
        {offered.length > 0 && (
          <select
            data-testid="mix-add"
            aria-label="Add a dataset from the library"
            value=""
            onChange={(event) => {
              const dataset = library.find((candidate) => candidate.id === event.target.value)
              if (dataset) change({ mix: [...rows, mixRowOf(dataset)] })
            }}
          >
            <option value="">Add a dataset from the library…</option>
            {offered.map((dataset) => (
              <option key={dataset.id} value={dataset.id}>
                {dataset.name} ({dataset.format}, {plural(dataset.usable, 'row')})
              </option>
            ))}
          </select>
        )}
        {rows.length > 0 && (
          <button
            type="button"
            className="small"
            data-testid="mix-all"
            title="Weight 1 for every dataset: every row of each, interleaved."
            onClick={() => change({ datasetWeight: '', mix: rows.map((row) => ({ ...row, weight: '' })) })}
          >
            All of each
          </button>
        )}
      </div>
      {error && (
        <span className="field-error" data-testid="field-error-dataset.mix" role="alert">
          {error}
        </span>
      )}
      {rows.length > 0 && preview.status === 'loading' && <p className="muted small">Counting the mix…</p>}
      {parts && (
        <table className="mix-summary" data-testid="mix-summary">
          <thead>
            <tr>
              <th>Dataset</th>
              <th>Read as</th>
              <th>Weight</th>
              <th>Rows taken</th>
            </tr>
          </thead>
          <tbody>
            {parts.map((part, index) => (
              <tr key={`${part.path}-${index}`} data-testid="mix-part">
                <td>{nameOf(library, part.path)}</td>
                <td>{readAs(part.format)}</td>
                <td>{part.weight}</td>
                <td>{part.error ?? `${part.taken.toLocaleString('en')} of ${plural(part.rows, 'row')}`}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr data-testid="mix-total">
              <td colSpan={3}>Total</td>
              <td>
                {plural(
                  parts.reduce((sum, part) => sum + part.taken, 0),
                  'row',
                )}
                {steps !== null && `, ${plural(steps, 'optimizer step')}`}
              </td>
            </tr>
          </tfoot>
        </table>
      )}
    </section>
  )
}
