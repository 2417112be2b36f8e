/**
 * The new-job form. Checks run in the window first; what the host rejects
 * comes back as AppError.data.fields and is shown beside the field it names,
 * or at the top when the form has no such field. Success opens the job.
 */
import { useEffect, useState, type DragEvent, type FormEvent } from 'react'
import { fieldErrorsOf } from '../../../electron/shared/errors'
import type { Preset } from '../../../electron/shared/jobs'
import { getClient, getShell } from '../api/client'
import { toAppError } from '../api/errors'
import { Field } from '../components/Field'
import { applyPreset, checkNewJobForm, emptyForm, placeServerErrors, type FieldKey, type NewJobFormValues } from '../logic/newJobForm'
import { useJobsStore } from '../stores/jobs'
import { useNavigationStore } from '../stores/navigation'

type TextKey = Exclude<keyof NewJobFormValues, 'modelKind'>

/** The form page. */
export function NewJobView() {
  const [values, setValues] = useState<NewJobFormValues>(emptyForm)
  const [errors, setErrors] = useState<Partial<Record<FieldKey, string>>>({})
  const [general, setGeneral] = useState<string[]>([])
  const [presets, setPresets] = useState<Preset[]>([])
  const [presetError, setPresetError] = useState<string | null>(null)
  const [submitting, setSubmitting] = useState(false)
  const createJob = useJobsStore((state) => state.create)
  const open = useNavigationStore((state) => state.open)

  useEffect(() => {
    getClient()
      .request('presets.list', {})
      .then(setPresets, (error: unknown) => setPresetError(`Presets are not available: ${toAppError(error).message}`))
  }, [])

  const change = (key: TextKey) => (event: { target: { value: string } }) => {
    setValues((current) => ({ ...current, [key]: event.target.value }))
  }

  const text = (key: TextKey, field: FieldKey, testId: string, placeholder: string, inputMode: 'text' | 'decimal' | 'numeric' = 'decimal') => (
    <input
      data-testid={testId}
      name={field}
      value={values[key]}
      placeholder={placeholder}
      inputMode={inputMode}
      aria-invalid={errors[field] ? true : undefined}
      onChange={change(key)}
    />
  )

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault()
    const check = checkNewJobForm(values)
    setGeneral([])
    if (!check.ok) {
      setErrors(check.errors)
      return
    }
    setErrors({})
    setSubmitting(true)
    try {
      const job = await createJob(check.input)
      open({ name: 'job', jobId: job.id })
    } catch (caught) {
      const error = toAppError(caught)
      const placed = placeServerErrors(fieldErrorsOf(error))
      setErrors(placed.byField)
      const top = placed.general.length > 0 ? placed.general : Object.keys(placed.byField).length > 0 ? [] : [error.message]
      setGeneral(top)
    } finally {
      setSubmitting(false)
    }
  }

  const shell = getShell()
  const browse = (kind: 'dataset' | 'model-folder', key: 'datasetPath' | 'modelPath') => async (): Promise<void> => {
    const chosen = await shell?.pickPath(kind)
    if (chosen) setValues((current) => ({ ...current, [key]: chosen }))
  }
  // In the desktop app a file dropped on a path field fills in its full path.
  const dropPath = (key: 'datasetPath' | 'modelPath') => (event: DragEvent<HTMLInputElement>): void => {
    const file = event.dataTransfer.files[0]
    if (!shell || !file) return
    event.preventDefault()
    setValues((current) => ({ ...current, [key]: shell.pathForFile(file) }))
  }

  const selftest = values.modelKind === 'selftest'
  const preset = presets.find((candidate) => candidate.id === values.preset)

  return (
    <div className="page">
      <header className="page-header">
        <h1>New fine-tuning job</h1>
      </header>
      <form className="card form" data-testid="new-job-form" onSubmit={(event) => void submit(event)} noValidate>
        {general.length > 0 && (
          <div className="form-error" data-testid="form-error" role="alert">
            {general.map((message) => (
              <div key={message}>{message}</div>
            ))}
          </div>
        )}
        <fieldset className="model-choice">
          <legend>Model</legend>
          <label className="radio">
            <input type="radio" name="model-kind" data-testid="model-selftest" checked={selftest} onChange={() => setValues({ ...values, modelKind: 'selftest' })} />
            Self-test model (tiny, CPU, under a minute)
          </label>
          <label className="radio">
            <input type="radio" name="model-kind" data-testid="model-custom" checked={!selftest} onChange={() => setValues({ ...values, modelKind: 'path' })} />
            A model folder or hub id
          </label>
        </fieldset>
        <div className="grid-2">
          <Field label="Model folder or hub id" name="model.path" error={errors['model.path']} hint={selftest ? 'Not needed for the self-test.' : 'A Hugging Face folder on disk, or an id already in the local cache.'}>
            <span className="path-input">
              <input data-testid="model-path" value={values.modelPath} disabled={selftest} placeholder="/models/Qwen2.5-0.5B or Qwen/Qwen2.5-0.5B" onChange={change('modelPath')} onDrop={dropPath('modelPath')} />
              {shell && (
                <button type="button" disabled={selftest} onClick={() => void browse('model-folder', 'modelPath')()}>
                  Browse…
                </button>
              )}
            </span>
          </Field>
          <Field label="Dataset file" name="datasetPath" error={errors.datasetPath} hint={selftest ? 'The self-test uses its bundled dataset.' : '.jsonl, .json, .csv or .parquet'}>
            <span className="path-input">
              <input data-testid="dataset-path" value={values.datasetPath} disabled={selftest} placeholder="/data/train.jsonl" onChange={change('datasetPath')} onDrop={dropPath('datasetPath')} />
              {shell && (
                <button type="button" disabled={selftest} onClick={() => void browse('dataset', 'datasetPath')()}>
                  Browse…
                </button>
              )}
            </span>
          </Field>
          <Field label="Job name" name="name" error={errors.name} hint="Optional; a name is made up from the model otherwise.">
            {text('name', 'name', 'job-name', 'my-first-lora', 'text')}
          </Field>
          <Field label="Preset" name="preset" error={errors.preset ?? presetError ?? undefined} hint={preset?.description ?? (presets.length === 0 ? 'No presets installed.' : 'Fills the settings below.')}>
            <select data-testid="preset" value={values.preset} onChange={(event) => setValues(applyPreset(values, presets.find((candidate) => candidate.id === event.target.value)))}>
              <option value="">None (defaults)</option>
              {presets.map((candidate) => (
                <option key={candidate.id} value={candidate.id}>
                  {candidate.name}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <h3 className="form-section">LoRA and training</h3>
        <p className="muted small">Leave a field empty to use the default shown in it.</p>
        <div className="grid-3">
          <Field label="LoRA rank" name="lora.rank" error={errors['lora.rank']}>
            {text('loraRank', 'lora.rank', 'lora-rank', '16', 'numeric')}
          </Field>
          <Field label="LoRA alpha" name="lora.alpha" error={errors['lora.alpha']}>
            {text('loraAlpha', 'lora.alpha', 'lora-alpha', '32')}
          </Field>
          <Field label="Learning rate" name="learningRate" error={errors.learningRate}>
            {text('learningRate', 'learningRate', 'learning-rate', '0.0002')}
          </Field>
          <Field label="Epochs" name="epochs" error={errors.epochs}>
            {text('epochs', 'epochs', 'epochs', '1')}
          </Field>
          <Field label="Batch size" name="batchSize" error={errors.batchSize}>
            {text('batchSize', 'batchSize', 'batch-size', '4', 'numeric')}
          </Field>
          <Field label="Max sequence length" name="maxSeqLength" error={errors.maxSeqLength}>
            {text('maxSeqLength', 'maxSeqLength', 'max-seq-length', '1024', 'numeric')}
          </Field>
        </div>
        <div className="form-actions">
          <button type="submit" className="primary" data-testid="submit-job" disabled={submitting}>
            {submitting ? 'Creating…' : 'Start job'}
          </button>
        </div>
      </form>
    </div>
  )
}
