/**
 * The new-job form. Checks run in the window first; what the host rejects
 * comes back as AppError.data.fields and is shown beside the field it names,
 * or at the top when the form has no such field. Success opens the job.
 * Opened from a checkpoint (page.from), the model and LoRA shape are locked:
 * the host takes them from the checkpoint.
 */
import { useState, type FormEvent } from 'react'
import { csvHeaders, textSplits } from '@shared/config'
import { methodTable, type Method } from '@shared/methods'
import { fieldErrorsOf } from '@shared/errors'
import { labelOf } from '@shared/fields'
import { newJobInputSchema } from '@shared/jobs'
import { toAppError } from '../api/errors'
import { AdvancedSettings, Setting } from '../components/AdvancedSettings'
import { DatasetChoice } from '../components/DatasetChoice'
import { DatasetMix } from '../components/DatasetMix'
import { DatasetPreviewPanel } from '../components/DatasetPreviewPanel'
import { Field } from '../components/Field'
import { GpuField } from '../components/GpuField'
import { MethodFields } from '../components/MethodFields'
import { ModelKindChoice, ModelPathField } from '../components/ModelChoice'
import { InitFromNotice } from '../components/InitFromNotice'
import { PresetChoice } from '../components/PresetChoice'
import { fileError, useDatasetPreview } from '../components/useDatasetPreview'
import { useNewJobSources } from '../components/useNewJobSources'
import { cudaPresent, previewColumns } from '../logic/advancedSettings'
import { mixInput, rankCount, typedGpus, typedWeight } from '../logic/datasetMix'
import { checkNewJobForm, emptyForm, placeServerErrors, type FieldKey, type NewJobFormValues, type SettingValue } from '../logic/newJobForm'
import { shownSettings } from '../logic/settingFields'
import { settingsThatRun } from '../logic/settingsThatRun'
import { selftestLayer } from '@shared/configMerge'
import { useJobsStore } from '../stores/jobs'
import { useNavigationStore, type StartFrom } from '../stores/navigation'
import { useSystemStore } from '../stores/system'
import { useDatasetsStore } from '../stores/datasets'
import { toolsLostWarning } from '../logic/datasetPreview'
import { datasetRefusal, effective, estimateSteps, methodForFormat, stepSettings } from '../logic/datasetChecks'

/** Why Start is refused when the chosen method does not train on what the file holds. */
function methodMismatch(chosen: Method, fit: { method: Method; what: string }): string {
  return `${methodTable[chosen].label} does not train on this file: it holds ${fit.what}. Choose ${methodTable[fit.method].label}, or another file.`
}

/** A config field's label, from the schema (electron/shared/config.ts). */
function settingLabel(path: string): string {
  return labelOf(newJobInputSchema, path)
}

/** The form page; `from` starts the job from another job's checkpoint, `datasetId` on a library dataset, `again` with another job's settings. */
export function NewJobView({ from, datasetId, again }: { from?: StartFrom; datasetId?: string; again?: string }) {
  const [values, setValues] = useState<NewJobFormValues>(emptyForm)
  const [errors, setErrors] = useState<Partial<Record<FieldKey, string>>>({})
  const [general, setGeneral] = useState<string[]>([])
  const [submitting, setSubmitting] = useState(false)
  const createJob = useJobsStore((state) => state.create)
  const open = useNavigationStore((state) => state.open)
  const cuda = useSystemStore((state) => cudaPresent(state.info, state.gpu))
  const machineGpus = useSystemStore((state) => (state.gpu ?? state.info?.gpu ?? null)?.gpus.length ?? 0)
  const library = useDatasetsStore((state) => state.list)

  const { presets, presetError, selftestSettings, source } = useNewJobSources({ from, datasetId, again }, setValues, setGeneral)

  const selftest = values.modelKind === 'selftest'
  const locked = values.initFrom !== null
  const badRows = values.settings['dataset.badRows'] === 'skip' ? 'skip' : 'fail'
  // With a model folder chosen, the preview tokenises with its tokenizer so the form can count the steps.
  const formCheck = checkNewJobForm(values)
  const preset = presets.find((candidate) => candidate.id === values.preset)
  // The self-test's own settings apply to a self-test model, also one locked from a checkpoint.
  const selftestLayers = selftest && selftestSettings ? selftestLayer(selftestSettings, values.datasetPath.trim() !== '') : undefined
  const underlying = settingsThatRun({ selftest: selftestLayers, preset, quantization: values.quantization })
  // What runs where the form is empty: the preset's, the self-test's own settings, or the default.
  const below = (dotted: string): unknown => underlying(dotted).value
  const maxSeqLength = Number(effective(formCheck.ok ? formCheck.input : {}, preset, 'training.maxSeqLength', below))
  const trainOnInputs = values.settings['training.trainOnInputs'] === true
  // The self-test tokenises with the preview's default, which is the self-test's own tokenizer and template.
  const tokenSettings = selftest
    ? { maxSeqLength, trainOnInputs }
    : values.modelPath.trim() !== ''
      ? { modelPath: values.modelPath.trim(), maxSeqLength, trainOnInputs }
      : undefined
  const textSplit = textSplits.find((split) => split === values.settings['dataset.textSplit'])
  // With a mix, the preview draws it with the job's seed, so its records, counts and steps are the mix's.
  const seed = Number(underlying('training.seed').value)
  const firstWeight = typedWeight(values.datasetWeight)
  const mix = { entries: mixInput(values.mix), seed, ...(typeof firstWeight === 'number' ? { weight: firstWeight } : {}) }
  const csvHeader = csvHeaders.find((header) => header === values.settings['dataset.csvHeader'])
  const preview = useDatasetPreview(
    values.datasetPath,
    { format: values.datasetFormat, columns: previewColumns(values.columns), textSplit, csvHeader, badRows, tokens: tokenSettings, mix },
    true,
  )
  const previewError = fileError(preview)
  const refusal = datasetRefusal(preview)
  const otherMethod = preview.status === 'done' && preview.preview.ok ? methodForFormat(preview.preview.format, values.method) : null
  const fileColumns = preview.status === 'done' ? preview.preview.columns : []

  const change = (key: 'name' | 'modelPath') => (event: { target: { value: string } }) => {
    setValues((current) => ({ ...current, [key]: event.target.value }))
  }

  const changeSetting = (path: string, value: SettingValue): void => {
    setValues((current) => ({ ...current, settings: { ...current.settings, [path]: value } }))
  }

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault()
    const check = checkNewJobForm(values)
    setGeneral([])
    if (refusal) {
      setErrors({ ...(check.ok ? {} : check.errors), 'dataset.path': refusal })
      return
    }
    if (otherMethod) {
      // The host would refuse it too (jobs.create): say so here, beside the method, before anything is sent.
      setErrors({ ...(check.ok ? {} : check.errors), method: methodMismatch(values.method, otherMethod) })
      return
    }
    if (!check.ok) {
      setErrors(check.errors)
      setGeneral(check.general)
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

  const tokens = preview.status === 'done' ? preview.preview.tokens : null
  // Each rank takes its own micro-batches: an optimizer step covers batch size x GPUs x accumulation examples.
  const ranks = rankCount(typedGpus(values.gpus), machineGpus)
  const stepSetting = formCheck.ok ? stepSettings(formCheck.input, preset, below) : null
  const steps =
    tokens && stepSetting && values.method === 'sft'
      ? estimateSteps(tokens, { ...stepSetting, batchSize: stepSetting.batchSize * ranks })
      : null
  const gpuField = (
    <GpuField
      values={values}
      change={(gpus) => setValues((current) => ({ ...current, gpus }))}
      error={errors['training.gpus']}
      machineGpus={machineGpus}
      underlying={underlying}
    />
  )

  return (
    <div className="page">
      <header className="page-header">
        <h1>{again ? `Run ${source?.name ?? 'a job'} again` : 'New fine-tuning job'}</h1>
      </header>
      <form className="card form" data-testid="new-job-form" onSubmit={(event) => void submit(event)} noValidate>
        {general.length > 0 && (
          <div className="form-error" data-testid="form-error" role="alert">
            {general.map((message) => (
              <div key={message}>{message}</div>
            ))}
          </div>
        )}
        {from && (
          <InitFromNotice
            from={from}
            sourceName={source?.name}
            values={values}
            change={(initFrom) => setValues((current) => ({ ...current, initFrom }))}
            error={errors.initFrom}
          />
        )}
        {!locked && <ModelKindChoice values={values} update={setValues} />}
        <div className="grid-2">
          <ModelPathField values={values} update={setValues} errors={errors} preset={preset} locked={locked} />
          <DatasetChoice
            values={values}
            update={setValues}
            pathChanged={() => setErrors((current) => ({ ...current, 'dataset.path': undefined }))}
            error={errors['dataset.path']}
            library={library}
            otherMethod={otherMethod}
            useMethod={(method) => {
              setValues((current) => ({ ...current, method }))
              setErrors((current) => ({ ...current, method: undefined }))
            }}
            previewError={previewError}
          />
          <MethodFields values={values} update={setValues} errors={errors} />
        </div>
        <DatasetPreviewPanel state={preview} />
        <DatasetMix
          values={values}
          change={(patch) => setValues((current) => ({ ...current, ...patch }))}
          library={library}
          errors={errors}
          preview={preview}
          steps={steps}
        />
        <div className="grid-2">
          <Field label={settingLabel('name')} name="name" error={errors.name} hint="Optional; a name is made up from the model otherwise.">
            <input
              data-testid="job-name"
              name="name"
              value={values.name}
              placeholder="my-first-lora"
              aria-invalid={errors.name ? true : undefined}
              onChange={change('name')}
            />
          </Field>
          <PresetChoice
            values={values}
            update={setValues}
            presets={presets}
            preset={preset}
            presetError={presetError}
            errors={errors}
            cuda={cuda}
          />
        </div>
        <h3 className="form-section">LoRA and training</h3>
        <p className="muted small">An empty field runs with the value shown in it: the preset's, the self-test's or the default.</p>
        <div className="grid-3">
          {shownSettings('main', values.method).map((field) => (
            <Setting
              key={field.path}
              field={field}
              value={values.settings[field.path]}
              change={(value) => changeSetting(field.path, value)}
              error={errors[field.path]}
              locked={locked}
              underlying={underlying}
            />
          ))}
          {machineGpus > 1 && gpuField}
        </div>
        <AdvancedSettings
          values={values}
          change={(patch) => setValues((current) => ({ ...current, ...patch }))}
          changeSetting={changeSetting}
          errors={errors}
          locked={locked}
          selftest={selftest}
          fileColumns={fileColumns}
          underlying={underlying}
          extra={machineGpus > 1 ? undefined : gpuField}
          extraKeys={['training.gpus']}
        />
        <div className="form-actions">
          {tokens !== null && tokens.toolsLost > 0 && (
            <span className="field-hint warning" data-testid="form-tools-lost" role="status">
              {toolsLostWarning(tokens.toolsLost)}
            </span>
          )}
          {steps !== null && (
            <span className="muted small" data-testid="step-estimate">
              {steps} optimizer step{steps === 1 ? '' : 's'}
              {tokens?.blocks !== null && tokens?.blocks !== undefined ? ` over ${tokens.blocks} text blocks` : ''}
            </span>
          )}
          <button type="submit" className="primary" data-testid="submit-job" disabled={submitting}>
            {submitting ? 'Creating…' : 'Start job'}
          </button>
        </div>
      </form>
    </div>
  )
}
