/**
 * "Choose from your models" beside the new-job form's model field: fills model.path with a
 * cached hub id or a folder. Each model says whether it fits this GPU at the chosen preset's
 * settings (QLoRA for a 4-bit preset), from the trainer's estimate.
 */
import { useEffect } from 'react'
import type { Preset } from '@shared/jobs'
import { modelPathValue, pickerLabel } from '../logic/models'
import { useModelsStore } from '../stores/models'

/** The select; `onChoose` gets the value for model.path. */
export function ModelPicker({
  value,
  preset,
  disabled,
  onChoose,
}: {
  value: string
  preset: Preset | undefined
  disabled: boolean
  onChoose: (path: string) => void
}) {
  const library = useModelsStore((state) => state.library)
  const fits = useModelsStore((state) => state.fits[preset?.id ?? ''])
  const load = useModelsStore((state) => state.load)
  const fitFor = useModelsStore((state) => state.fitFor)
  const count = library?.models.length ?? 0
  useEffect(() => {
    if (!useModelsStore.getState().library) void load()
  }, [load])
  useEffect(() => {
    if (count > 0) void fitFor(preset?.id)
  }, [count, preset?.id, fitFor])
  const models = library?.models ?? []
  if (models.length === 0) return null
  const quantized = preset?.model?.quantization === '4bit'
  const chosen = models.find((model) => modelPathValue(model) === value)
  return (
    <select
      className="model-picker"
      data-testid="model-picker"
      disabled={disabled}
      value={chosen ? modelPathValue(chosen) : ''}
      onChange={(event) => event.target.value && onChoose(event.target.value)}
      aria-label="Choose from your models"
    >
      <option value="">Choose from your models…</option>
      {models.map((model) => (
        <option key={model.path} value={modelPathValue(model)}>
          {pickerLabel(model, fits?.[model.path]?.fit, quantized)}
        </option>
      ))}
    </select>
  )
}
