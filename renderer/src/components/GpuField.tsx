/**
 * The GPUs a job trains on (training.gpus), with the global batch it makes beside it: examples per
 * optimizer step over every rank, batchSize x GPUs x gradientAccumulation (config.ts). The form shows
 * it among the main settings on a machine that reports several GPUs, in Advanced otherwise.
 */
import { labelOf } from '@shared/fields'
import { newJobInputSchema } from '@shared/jobs'
import { globalBatch, rankCount, typedGpus } from '../logic/datasetMix'
import type { NewJobFormValues } from '../logic/newJobForm'
import type { Underlying } from '../logic/settingsThatRun'
import { Field } from './Field'

interface Props {
  values: NewJobFormValues
  change(gpus: string): void
  error?: string
  /** GPUs the machine reports (0 without CUDA). */
  machineGpus: number
  underlying: Underlying
}

/** A whole-number setting as it will run: typed, else the preset's, the self-test's or the default. */
function runningNumber(values: NewJobFormValues, underlying: Underlying, path: string): number {
  const typed = Number(String(values.settings[path] ?? '').trim() || NaN)
  return Number.isInteger(typed) && typed > 0 ? typed : Number(underlying(path).value)
}

export function GpuField({ values, change, error, machineGpus, underlying }: Props) {
  const batch = runningNumber(values, underlying, 'training.batchSize')
  const accumulation = runningNumber(values, underlying, 'training.gradientAccumulation')
  const gpus = typedGpus(values.gpus)
  const valid = gpus === undefined || gpus === 'all' || typeof gpus === 'number' || Array.isArray(gpus)
  const ranks = rankCount(gpus, machineGpus)
  const machine =
    machineGpus === 0
      ? 'No NVIDIA GPU here: one process on the CPU for "all".'
      : `This machine has ${machineGpus} GPU${machineGpus === 1 ? '' : 's'}.`
  return (
    <Field
      label={labelOf(newJobInputSchema, 'training.gpus')}
      name="training.gpus"
      error={error}
      hint={`"all", a number of GPUs, or indices such as 0, 1. ${machine}`}
    >
      <input
        data-testid="gpus"
        name="training.gpus"
        value={values.gpus}
        placeholder="all"
        aria-invalid={error ? true : undefined}
        onChange={(event) => change(event.target.value)}
      />
      {valid && (
        <span
          className="muted small"
          data-testid="global-batch"
          title="Examples per optimizer step over every GPU: batch size × GPUs × gradient accumulation."
        >
          Global batch {globalBatch(batch, ranks, accumulation)} = {batch} per device × {ranks} GPU{ranks === 1 ? '' : 's'} × {accumulation}{' '}
          accumulation
        </span>
      )}
    </Field>
  )
}
