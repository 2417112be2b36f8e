/**
 * The Export section's choice of a merged GGUF (model.gguf, which llama.cpp, Ollama and LM Studio
 * run alone): the types the export offers for this model, and why the others are not offered.
 */
import type { Job } from '@shared/jobs'
import { mergedGgufTypes, type MergedGgufType } from '@shared/exports'
import { useExportsStore, useJobExport } from '../stores/exports'

export function GgufTypeField({ job }: { job: Job }) {
  const state = useJobExport(job.id)
  const { edit } = useExportsStore.getState()
  const offers = state.plan?.compatibility.mergedGguf ?? []
  const refused = offers.filter((offer) => !offer.offered)
  return (
    <div className="field" data-testid="gguf-type-field">
      <label className="field">
        <span className="field-label">Merged GGUF</span>
        <select
          data-testid="gguf-type"
          value={state.ggufType ?? ''}
          disabled={state.running || state.merged || offers.every((offer) => !offer.offered)}
          onChange={(event) => edit(job.id, { ggufType: event.target.value === '' ? null : (event.target.value as MergedGgufType) })}
        >
          <option value="">None (the adapter and adapter.gguf only)</option>
          {mergedGgufTypes.map((type) => {
            const offer = offers.find((item) => item.type === type)
            return (
              <option key={type} value={type} disabled={!offer?.offered} title={offer?.reason ?? undefined}>
                {type} {offer?.offered ? '' : '(not offered)'}
              </option>
            )
          })}
        </select>
      </label>
      <p className="muted small" data-testid="gguf-type-notes">
        model.gguf: the adapter merged into the base in one file that llama.cpp, Ollama and LM Studio run alone; the Modelfile then reads
        FROM ./model.gguf.
        {refused.map((offer) => (
          <span key={offer.type}>
            {' '}
            {offer.type}: {offer.reason}.
          </span>
        ))}
      </p>
    </div>
  )
}
