/**
 * The new-job form's preset (it fills the settings below, which the user can still change) and the
 * 4-bit loading switch, with why a preset's 4-bit does not apply on a machine without CUDA.
 */
import { labelOf } from '@shared/fields'
import { newJobInputSchema, type Preset } from '@shared/jobs'
import { quantizationNote } from '../logic/advancedSettings'
import { applyPreset, type FieldKey, type NewJobFormValues } from '../logic/newJobForm'
import { Field } from './Field'

interface Props {
  values: NewJobFormValues
  update(change: (current: NewJobFormValues) => NewJobFormValues): void
  presets: readonly Preset[]
  preset: Preset | undefined
  presetError: string | null
  errors: Partial<Record<FieldKey, string>>
  cuda: boolean
}

export function PresetChoice({ values, update, presets, preset, presetError, errors, cuda }: Props) {
  const fourBitNote = quantizationNote(preset, cuda)
  return (
    <>
      <div className="field">
        <Field label={labelOf(newJobInputSchema, 'preset')} name="preset" error={errors.preset ?? presetError ?? undefined}>
          <select
            data-testid="preset"
            value={values.preset}
            onChange={(event) =>
              update((current) =>
                applyPreset(
                  current,
                  presets.find((candidate) => candidate.id === event.target.value),
                  cuda,
                ),
              )
            }
          >
            <option value="">None (defaults)</option>
            {presets.map((candidate) => (
              <option key={candidate.id} value={candidate.id} title={candidate.description}>
                {candidate.name}
              </option>
            ))}
          </select>
        </Field>
        <span className="field-hint" data-testid="preset-description">
          {preset?.description ??
            (presets.length === 0 ? 'No presets installed.' : 'A preset fills the settings below; you can still change them.')}
        </span>
      </div>
      <label className="checkbox" title="Loads the base model as 4-bit NF4 through bitsandbytes; needs an NVIDIA GPU with CUDA.">
        <input
          type="checkbox"
          data-testid="quantization"
          checked={values.quantization === '4bit'}
          onChange={(event) => {
            const quantization = event.target.checked ? '4bit' : 'none'
            update((current) => ({ ...current, quantization }))
          }}
        />
        Load in 4-bit (QLoRA, NVIDIA GPU only)
        {errors['model.quantization'] ? (
          <span className="field-error" data-testid="field-error-quantization" role="alert">
            {errors['model.quantization']}
          </span>
        ) : (
          fourBitNote && (
            <span className="field-hint" data-testid="quantization-note">
              {fourBitNote}
            </span>
          )
        )}
      </label>
    </>
  )
}
