/**
 * The new-job form's Advanced section, collapsed until opened: gradient
 * accumulation, validation split, bad rows, packing, train on inputs, the
 * rest of the LoRA settings, DPO beta, and the column mapping for files
 * whose columns have their own names. Empty fields take the preset's value
 * or the default shown in them.
 */
import { useEffect, useState } from 'react'
import { datasetFields } from '../../../electron/shared/datasets'
import type { Preset } from '../../../electron/shared/jobs'
import type { ColumnPair } from '../logic/advancedSettings'
import type { FieldKey, NewJobFormValues } from '../logic/newJobForm'
import { Field } from './Field'

type TextKey = 'gradientAccumulation' | 'validationSplit' | 'loraDropout' | 'targetModules' | 'dpoBeta'

interface Props {
  values: NewJobFormValues
  change(patch: Partial<NewJobFormValues>): void
  errors: Partial<Record<FieldKey, string>>
  /** Started from a checkpoint: the LoRA settings are the checkpoint's. */
  locked: boolean
  /** The self-test reads its own bundled dataset: no column mapping. */
  selftest: boolean
  /** The dataset's own column names, from the preview, offered in the mapping. */
  fileColumns: readonly string[]
  preset: Preset | undefined
}

/** Field keys shown in the section: an error on one opens it. */
const sectionFields: readonly FieldKey[] = ['gradientAccumulation', 'validationSplit', 'badRows', 'packing', 'trainOnInputs', 'lora.dropout', 'lora.targetModules', 'lora.rslora', 'lora.dora', 'dpo.beta', 'columns']

/** The section: collapsed, and opened when an error is shown inside it. */
export function AdvancedSettings({ values, change, errors, locked, selftest, fileColumns, preset }: Props) {
  const [open, setOpen] = useState(false)
  const invalid = sectionFields.some((key) => errors[key])
  useEffect(() => {
    if (invalid) setOpen(true)
  }, [invalid])
  const lockedHint = locked ? 'From the checkpoint.' : undefined
  const text = (key: TextKey, field: FieldKey, testId: string, placeholder: string, disabled = false) => (
    <input
      data-testid={testId}
      name={field}
      value={values[key]}
      placeholder={placeholder}
      inputMode={key === 'targetModules' ? 'text' : 'decimal'}
      disabled={disabled}
      aria-invalid={errors[field] ? true : undefined}
      onChange={(event) => change({ [key]: event.target.value })}
    />
  )
  const presetPacking = preset?.training.packing
  const packingDefault = presetPacking === undefined ? 'Default (on where the model supports it)' : `Preset's (${presetPacking ? 'on' : 'off'})`

  return (
    <details className="advanced" data-testid="advanced" open={open} onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary>Advanced</summary>
      <div className="grid-3">
        <Field label="Gradient accumulation" name="gradientAccumulation" error={errors.gradientAccumulation} hint="Micro-batches per optimizer step.">
          {text('gradientAccumulation', 'gradientAccumulation', 'gradient-accumulation', '1')}
        </Field>
        <Field label="Validation split" name="validationSplit" error={errors.validationSplit} hint="Share of rows held out for eval loss, 0 to 0.5.">
          {text('validationSplit', 'validationSplit', 'validation-split', '0')}
        </Field>
        <Field label="Bad rows" name="badRows" error={errors.badRows} hint="A row that does not fit the format.">
          <select data-testid="bad-rows" value={values.badRows} onChange={(event) => change({ badRows: event.target.value === 'skip' ? 'skip' : 'fail' })}>
            <option value="fail">Fail the job</option>
            <option value="skip">Skip and count them</option>
          </select>
        </Field>
        <Field label="Packing" name="packing" error={errors.packing} hint="Joins short examples into full-length rows.">
          <select data-testid="packing" value={values.packing} onChange={(event) => change({ packing: event.target.value === 'on' ? 'on' : event.target.value === 'off' ? 'off' : '' })}>
            <option value="">{packingDefault}</option>
            <option value="on">On</option>
            <option value="off">Off</option>
          </select>
        </Field>
        <Field label="LoRA dropout" name="lora.dropout" error={errors['lora.dropout']} hint={lockedHint ?? '0 to 0.9.'}>
          {text('loraDropout', 'lora.dropout', 'lora-dropout', '0.05', locked)}
        </Field>
        <Field label="LoRA target modules" name="lora.targetModules" error={errors['lora.targetModules']} hint={lockedHint ?? 'all-linear, or names such as q_proj, v_proj.'}>
          {text('targetModules', 'lora.targetModules', 'target-modules', 'all-linear', locked)}
        </Field>
        {values.method === 'dpo' && (
          <Field label="DPO beta" name="dpo.beta" error={errors['dpo.beta']} hint="Pull towards the base model; higher stays closer.">
            {text('dpoBeta', 'dpo.beta', 'dpo-beta', '0.1')}
          </Field>
        )}
      </div>
      <div className="switches">
        <Switch name="trainOnInputs" testId="train-on-inputs" label="Train on inputs" title="Also learn the prompts' tokens, not only the answers." checked={values.trainOnInputs} onChange={(on) => change({ trainOnInputs: on })} error={errors.trainOnInputs} />
        <Switch name="lora.rslora" testId="rslora" label="rsLoRA" title="Rank-stabilised scaling (alpha / √rank): helps at high ranks." checked={values.rslora} disabled={locked} onChange={(on) => change({ rslora: on })} error={errors['lora.rslora']} />
        <Switch name="lora.dora" testId="dora" label="DoRA" title="Weight-decomposed LoRA: sometimes better, slower to train." checked={values.dora} disabled={locked} onChange={(on) => change({ dora: on })} error={errors['lora.dora']} />
      </div>
      {!selftest && <ColumnMapping pairs={values.columns} change={(columns) => change({ columns })} error={errors.columns} fileColumns={fileColumns} />}
    </details>
  )
}

interface SwitchProps {
  /** The field key, naming the error's test id as Field does. */
  name: FieldKey
  testId: string
  label: string
  title: string
  checked: boolean
  disabled?: boolean
  onChange(on: boolean): void
  error?: string
}

function Switch({ name, testId, label, title, checked, disabled = false, onChange, error }: SwitchProps) {
  return (
    <label className="checkbox" title={title}>
      <input type="checkbox" data-testid={testId} checked={checked} disabled={disabled} onChange={(event) => onChange(event.target.checked)} />
      {label}
      {error && (
        <span className="field-error" data-testid={`field-error-${name}`} role="alert">
          {error}
        </span>
      )}
    </label>
  )
}

/** Rows of "our field <- the file's column"; the file's columns are suggested as the user types. */
function ColumnMapping({ pairs, change, error, fileColumns }: { pairs: ColumnPair[]; change(pairs: ColumnPair[]): void; error?: string; fileColumns: readonly string[] }) {
  const update = (index: number, patch: Partial<ColumnPair>) => change(pairs.map((pair, at) => (at === index ? { ...pair, ...patch } : pair)))
  return (
    <div className={`field column-mapping${error ? ' field-invalid' : ''}`} data-testid="column-mapping">
      <span className="field-label">Column mapping</span>
      <span className="field-hint">For a file whose columns have their own names: which column holds each field Tunedeck reads.</span>
      {pairs.map((pair, index) => (
        <div className="column-pair" key={index} data-testid="column-pair">
          <select data-testid="column-field" value={pair.field} aria-label="Tunedeck's field" onChange={(event) => update(index, { field: event.target.value })}>
            <option value="">Field…</option>
            {datasetFields.map((field) => (
              <option key={field} value={field}>
                {field}
              </option>
            ))}
          </select>
          <span className="muted">from column</span>
          <input data-testid="column-name" value={pair.column} placeholder="the file's column" aria-label="The file's column" list="dataset-file-columns" onChange={(event) => update(index, { column: event.target.value })} />
          <button type="button" className="small danger-quiet" data-testid="column-remove" onClick={() => change(pairs.filter((_, at) => at !== index))}>
            Remove
          </button>
        </div>
      ))}
      <datalist id="dataset-file-columns">
        {fileColumns.map((column) => (
          <option key={column} value={column} />
        ))}
      </datalist>
      <div>
        <button type="button" className="small" data-testid="column-add" onClick={() => change([...pairs, { field: '', column: '' }])}>
          Add a mapping
        </button>
      </div>
      {error && (
        <span className="field-error" data-testid="field-error-columns" role="alert">
          {error}
        </span>
      )}
    </div>
  )
}
