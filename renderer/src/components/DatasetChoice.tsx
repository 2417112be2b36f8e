/**
 * The new-job form's dataset field: a path, or a dataset from the library (which brings the way the
 * Datasets page reads it), with the method that fits the file when the chosen one does not, and why
 * the file cannot be read.
 */
import { labelOf } from '@shared/fields'
import { newJobInputSchema } from '@shared/jobs'
import { methodTable, type Method } from '@shared/methods'
import type { DatasetEntry } from '@shared/datasets'
import { columnPairs } from '../logic/advancedSettings'
import { plural } from '../logic/datasetPreview'
import type { NewJobFormValues } from '../logic/newJobForm'
import { Field } from './Field'
import { PathInput } from './PathInput'

interface Props {
  values: NewJobFormValues
  update(change: (current: NewJobFormValues) => NewJobFormValues): void
  /** A new path: its old error says nothing about it. */
  pathChanged(): void
  error?: string
  library: readonly DatasetEntry[]
  /** The method the file fits, when the chosen one does not. */
  otherMethod: { method: Method; what: string } | null
  useMethod(method: Method): void
  previewError: string | null
}

export function DatasetChoice({ values, update, pathChanged, error, library, otherMethod, useMethod, previewError }: Props) {
  const selftest = values.modelKind === 'selftest'
  const setPath = (datasetPath: string): void => {
    update((current) => ({ ...current, datasetPath }))
    pathChanged()
  }
  return (
    <Field
      label={labelOf(newJobInputSchema, 'dataset.path')}
      name="dataset.path"
      error={error}
      hint={
        selftest ? 'Empty: the self-test’s bundled dataset.' : '.jsonl, .json, .csv, .parquet, .txt, or a folder saved with save_to_disk'
      }
    >
      <PathInput
        testId="dataset-path"
        value={values.datasetPath}
        placeholder={selftest ? 'the bundled self-test dataset' : '/data/train.jsonl'}
        disabled={false}
        kind="dataset"
        change={setPath}
      />
      {library.length > 0 && (
        <select
          data-testid="dataset-library"
          aria-label="From the library"
          value={library.find((dataset) => dataset.path === values.datasetPath)?.id ?? ''}
          onChange={(event) => {
            const chosen = library.find((dataset) => dataset.id === event.target.value)
            if (!chosen) return
            setPath(chosen.path)
            // The way the Datasets page reads it (format, columns, text split) comes with it.
            const reading = chosen.reading
            if (reading) {
              update((current) => ({
                ...current,
                datasetFormat: reading.format,
                columns: columnPairs(reading.columns),
                settings: { ...current.settings, 'dataset.textSplit': reading.textSplit, 'dataset.csvHeader': reading.csvHeader },
              }))
            }
          }}
        >
          <option value="">From the library…</option>
          {library.map((dataset) => (
            <option key={dataset.id} value={dataset.id}>
              {dataset.name} ({dataset.format}, {plural(dataset.usable, 'row')})
            </option>
          ))}
        </select>
      )}
      {otherMethod && (
        <span className="field-hint" data-testid="method-suggestion">
          {methodTable[values.method].label} does not fit: this file holds {otherMethod.what}, which {methodTable[otherMethod.method].label}{' '}
          trains on.{' '}
          <button type="button" className="small" data-testid="use-suggested-method" onClick={() => useMethod(otherMethod.method)}>
            Use {methodTable[otherMethod.method].label}
          </button>
        </span>
      )}
      {previewError && !error && (
        <span className="field-error" data-testid="dataset-preview-error" role="alert">
          {previewError}
        </span>
      )}
    </Field>
  )
}
