/**
 * "Choose from your models" beside the new-job form's model field: fills model.path with a
 * cached hub id or a folder. Models whose fit was checked on the Models page say whether they
 * fit with the chosen preset (QLoRA for a 4-bit preset).
 */
import { useEffect } from 'react'
import { modelPathValue, pickerLabel } from '../logic/models'
import { useModelsStore } from '../stores/models'

/** The select; `onChoose` gets the value for model.path. */
export function ModelPicker({ value, quantized, disabled, onChoose }: { value: string; quantized: boolean; disabled: boolean; onChoose: (path: string) => void }) {
  const library = useModelsStore((state) => state.library)
  const details = useModelsStore((state) => state.details)
  const load = useModelsStore((state) => state.load)
  useEffect(() => {
    if (!useModelsStore.getState().library) void load()
  }, [load])
  const models = library?.models ?? []
  if (models.length === 0) return null
  const chosen = models.find((model) => modelPathValue(model) === value)
  return (
    <select className="model-picker" data-testid="model-picker" disabled={disabled} value={chosen ? modelPathValue(chosen) : ''} onChange={(event) => event.target.value && onChoose(event.target.value)} aria-label="Choose from your models">
      <option value="">Choose from your models…</option>
      {models.map((model) => (
        <option key={model.path} value={modelPathValue(model)}>
          {pickerLabel(model, details[model.path], quantized)}
        </option>
      ))}
    </select>
  )
}
