/**
 * The new-job form's settings, drawn from one list (logic/settingFields.ts)
 * whose labels, ranges, defaults and choices come from the config schema;
 * and the Advanced section, collapsed until opened: its settings from that
 * list, the LoRA target modules, and the column mapping for files whose
 * columns have their own names. An empty field shows the value it runs with
 * (logic/settingsThatRun.ts: the host's own merge of the default, the
 * self-test's settings and the preset).
 */
import { useEffect, useState, type ReactNode } from 'react'
import { datasetFields } from '@shared/datasets'
import type { ColumnPair } from '../logic/advancedSettings'
import type { FieldKey, NewJobFormValues, SettingValue } from '../logic/newJobForm'
import { settingInfo, shownSettings, type SettingField } from '../logic/settingFields'
import type { Underlying } from '../logic/settingsThatRun'
import { Field } from './Field'

interface SettingProps {
  field: SettingField
  value: SettingValue | undefined
  change(value: SettingValue): void
  error?: string
  /** Started from a checkpoint: this field is the checkpoint's. */
  locked: boolean
  /** What the field runs with when left empty. */
  underlying: Underlying
}

/** An empty number field shows the value it runs with; "" where that is none (no limit). */
function placeholder(value: unknown): string {
  return value === undefined || value === null ? '' : String(value)
}

/** One setting as the schema describes it: a number field, a choice, a switch, or a tristate select. */
export function Setting({ field, value, change, error, locked, underlying }: SettingProps) {
  const info = settingInfo(field.path)
  const disabled = locked && field.fromCheckpoint === true
  const hint = disabled ? 'From the checkpoint.' : field.hint
  if (info.kind === 'boolean' && !field.tristate)
    return <Switch field={field} label={info.label} checked={value === true} disabled={disabled} onChange={change} error={error} />
  if (info.kind === 'boolean') {
    const below = underlying(field.path)
    const unset = `${below.from === 'Default' ? 'Default' : `${below.from}'s`} (${below.value === true ? 'on' : 'off'})`
    return (
      <Field label={info.label} name={field.path} error={error} hint={hint}>
        <select data-testid={field.testId} value={String(value ?? '')} disabled={disabled} onChange={(event) => change(event.target.value)}>
          <option value="">{unset}</option>
          <option value="on">On</option>
          <option value="off">Off</option>
        </select>
      </Field>
    )
  }
  if (info.kind === 'choice') {
    return (
      <Field label={info.label} name={field.path} error={error} hint={hint}>
        <select
          data-testid={field.testId}
          value={String(value ?? info.default)}
          disabled={disabled}
          onChange={(event) => change(event.target.value)}
        >
          {info.values.map((option) => (
            <option key={option} value={option}>
              {field.options?.[option] ?? option}
            </option>
          ))}
        </select>
      </Field>
    )
  }
  return (
    <Field label={info.label} name={field.path} error={error} hint={hint}>
      <input
        data-testid={field.testId}
        name={field.path}
        value={String(value ?? '')}
        placeholder={placeholder(underlying(field.path).value)}
        inputMode="decimal"
        disabled={disabled}
        aria-invalid={error ? true : undefined}
        onChange={(event) => change(event.target.value)}
      />
    </Field>
  )
}

interface Props {
  values: NewJobFormValues
  change(patch: Partial<NewJobFormValues>): void
  changeSetting(path: string, value: SettingValue): void
  errors: Partial<Record<FieldKey, string>>
  /** Started from a checkpoint: the LoRA settings are the checkpoint's. */
  locked: boolean
  /** The self-test reads its own bundled dataset: no column mapping. */
  selftest: boolean
  /** The dataset's own column names, from the preview, offered in the mapping. */
  fileColumns: readonly string[]
  underlying: Underlying
  /** More fields at the section's start (the GPUs field on a machine with one GPU). */
  extra?: ReactNode
  /** Keys of the errors `extra` shows, which open the section. */
  extraKeys?: readonly string[]
}

/** The section: collapsed, and opened when an error is shown inside it. */
export function AdvancedSettings({
  values,
  change,
  changeSetting,
  errors,
  locked,
  selftest,
  fileColumns,
  underlying,
  extra,
  extraKeys = [],
}: Props) {
  const [open, setOpen] = useState(false)
  const fields = shownSettings('advanced', values.method)
  const invalid = [...fields.map((field) => field.path), 'lora.targetModules', 'dataset.columns', ...extraKeys].some((key) => errors[key])
  useEffect(() => {
    if (invalid) setOpen(true)
  }, [invalid])
  const isSwitch = (field: SettingField) => settingInfo(field.path).kind === 'boolean' && !field.tristate
  const setting = (field: SettingField) => (
    <Setting
      key={field.path}
      field={field}
      value={values.settings[field.path]}
      change={(value) => changeSetting(field.path, value)}
      error={errors[field.path]}
      locked={locked}
      underlying={underlying}
    />
  )

  return (
    <details className="advanced" data-testid="advanced" open={open} onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary>Advanced</summary>
      <div className="grid-3">
        {extra}
        {fields.filter((field) => !isSwitch(field)).map(setting)}
        <Field
          label="LoRA target modules"
          name="lora.targetModules"
          error={errors['lora.targetModules']}
          hint={locked ? 'From the checkpoint.' : 'all-linear, or names such as q_proj, v_proj.'}
        >
          <input
            data-testid="target-modules"
            name="lora.targetModules"
            value={values.targetModules}
            placeholder="all-linear"
            disabled={locked}
            aria-invalid={errors['lora.targetModules'] ? true : undefined}
            onChange={(event) => change({ targetModules: event.target.value })}
          />
        </Field>
      </div>
      <div className="switches">{fields.filter(isSwitch).map(setting)}</div>
      {!selftest && (
        <ColumnMapping
          pairs={values.columns}
          change={(columns) => change({ columns })}
          error={errors['dataset.columns']}
          fileColumns={fileColumns}
        />
      )}
    </details>
  )
}

interface SwitchProps {
  field: SettingField
  label: string
  checked: boolean
  disabled?: boolean
  onChange(on: boolean): void
  error?: string
}

function Switch({ field, label, checked, disabled = false, onChange, error }: SwitchProps) {
  return (
    <label className="checkbox" title={field.hint}>
      <input
        type="checkbox"
        data-testid={field.testId}
        checked={checked}
        disabled={disabled}
        onChange={(event) => onChange(event.target.checked)}
      />
      {label}
      {error && (
        <span className="field-error" data-testid={`field-error-${field.path}`} role="alert">
          {error}
        </span>
      )}
    </label>
  )
}

/** Rows of "our field <- the file's column"; the file's columns are suggested as the user types. */
export function ColumnMapping({
  pairs,
  change,
  error,
  fileColumns,
}: {
  pairs: ColumnPair[]
  change(pairs: ColumnPair[]): void
  error?: string
  fileColumns: readonly string[]
}) {
  const update = (index: number, patch: Partial<ColumnPair>) =>
    change(pairs.map((pair, at) => (at === index ? { ...pair, ...patch } : pair)))
  return (
    <div className={`field column-mapping${error ? ' field-invalid' : ''}`} data-testid="column-mapping">
      <span className="field-label">Column mapping</span>
      <span className="field-hint">For a file whose columns have their own names: which column holds each field Tunedeck reads.</span>
      {pairs.map((pair, index) => (
        <div className="column-pair" key={index} data-testid="column-pair">
          <select
            data-testid="column-field"
            value={pair.field}
            aria-label="Tunedeck's field"
            onChange={(event) => update(index, { field: event.target.value })}
          >
            <option value="">Field…</option>
            {datasetFields.map((field) => (
              <option key={field} value={field}>
                {field}
              </option>
            ))}
          </select>
          <span className="muted">from column</span>
          <input
            data-testid="column-name"
            value={pair.column}
            placeholder="the file's column"
            aria-label="The file's column"
            list="dataset-file-columns"
            onChange={(event) => update(index, { column: event.target.value })}
          />
          <button
            type="button"
            className="small danger-quiet"
            data-testid="column-remove"
            onClick={() => change(pairs.filter((_, at) => at !== index))}
          >
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
        <span className="field-error" data-testid="field-error-dataset.columns" role="alert">
          {error}
        </span>
      )}
    </div>
  )
}
