/**
 * The new-job form's method and the format its dataset is read as (detected unless chosen).
 */
import { labelOf } from '@shared/fields'
import { newJobInputSchema } from '@shared/jobs'
import { datasetFormats, datasetFormatTable, methods, methodTable, type DatasetFormat } from '@shared/methods'
import type { FieldKey, NewJobFormValues } from '../logic/newJobForm'
import { Field } from './Field'

interface Props {
  values: NewJobFormValues
  update(change: (current: NewJobFormValues) => NewJobFormValues): void
  errors: Partial<Record<FieldKey, string>>
}

export function MethodFields({ values, update, errors }: Props) {
  const selftest = values.modelKind === 'selftest'
  return (
    <>
      <Field label={labelOf(newJobInputSchema, 'method')} name="method" error={errors.method} hint={methodTable[values.method].hint}>
        <select
          data-testid="method"
          value={values.method}
          onChange={(event) => {
            const method = methods.find((candidate) => candidate === event.target.value) ?? 'sft'
            update((current) => ({ ...current, method }))
          }}
        >
          {methods.map((method) => (
            <option key={method} value={method}>
              {methodTable[method].label}
            </option>
          ))}
        </select>
      </Field>
      <Field
        label={labelOf(newJobInputSchema, 'dataset.format')}
        name="dataset.format"
        error={errors['dataset.format']}
        hint={selftest ? 'The self-test dataset is Alpaca.' : 'Detected from the columns unless chosen here.'}
      >
        <select
          data-testid="dataset-format"
          value={values.datasetFormat}
          disabled={selftest && values.datasetPath.trim() === ''}
          onChange={(event) => {
            const datasetFormat = event.target.value as DatasetFormat
            update((current) => ({ ...current, datasetFormat }))
          }}
        >
          {datasetFormats.map((format) => (
            <option key={format} value={format}>
              {datasetFormatTable[format].label}
            </option>
          ))}
        </select>
      </Field>
    </>
  )
}
