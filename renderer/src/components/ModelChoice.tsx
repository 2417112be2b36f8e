/**
 * The new-job form's model: the self-test or a folder / hub id (hidden when a checkpoint fixes it),
 * and the model path with its picker. Locked from a checkpoint: the host takes the model from it.
 */
import { labelOf } from '@shared/fields'
import { newJobInputSchema, type Preset } from '@shared/jobs'
import type { FieldKey, NewJobFormValues } from '../logic/newJobForm'
import { Field } from './Field'
import { ModelPicker } from './ModelPicker'
import { PathInput } from './PathInput'

interface Props {
  values: NewJobFormValues
  update(change: (current: NewJobFormValues) => NewJobFormValues): void
  errors: Partial<Record<FieldKey, string>>
  preset: Preset | undefined
  locked: boolean
}

/** Self-test or a model of one's own; shown only when no checkpoint fixes the model. */
export function ModelKindChoice({ values, update }: Pick<Props, 'values' | 'update'>) {
  const selftest = values.modelKind === 'selftest'
  return (
    <fieldset className="model-choice">
      <legend>Model</legend>
      <label className="radio">
        <input
          type="radio"
          name="model-kind"
          data-testid="model-selftest"
          checked={selftest}
          onChange={() => update((current) => ({ ...current, modelKind: 'selftest' }))}
        />
        Self-test model (tiny, CPU, under a minute)
      </label>
      <label className="radio">
        <input
          type="radio"
          name="model-kind"
          data-testid="model-custom"
          checked={!selftest}
          onChange={() => update((current) => ({ ...current, modelKind: 'path' }))}
        />
        A model folder or hub id
      </label>
    </fieldset>
  )
}

/** The model folder or hub id, typed, browsed or picked from the models on disk. */
export function ModelPathField({ values, update, errors, preset, locked }: Props) {
  const selftest = values.modelKind === 'selftest'
  const hint = locked
    ? 'From the checkpoint.'
    : selftest
      ? 'Not needed for the self-test.'
      : 'A Hugging Face folder on disk, or an id already in the local cache.'
  return (
    <Field label={labelOf(newJobInputSchema, 'model.path')} name="model.path" error={errors['model.path']} hint={hint}>
      <PathInput
        testId="model-path"
        value={values.modelPath}
        placeholder={locked && selftest ? 'Self-test model' : '/models/Qwen2.5-0.5B or Qwen/Qwen2.5-0.5B'}
        disabled={selftest || locked}
        kind="model-folder"
        change={(modelPath) => update((current) => ({ ...current, modelPath }))}
      />
      <ModelPicker
        value={values.modelPath}
        preset={preset}
        disabled={locked}
        onChoose={(modelPath) => update((current) => ({ ...current, modelPath, modelKind: 'path' }))}
      />
    </Field>
  )
}
