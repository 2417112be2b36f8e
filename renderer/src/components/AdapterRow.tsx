/** A row of the adapter library: what it is, and its actions (export, chat, new job from it, delete). */
import { useState, type FormEvent } from 'react'
import type { LibraryAdapter } from '@shared/adapters'
import { errorMessage } from '../api/errors'
import { baseNote } from '../logic/adapters'
import { formatBytes } from '../logic/metrics'
import { useAdaptersStore } from '../stores/adapters'
import { useJobsStore } from '../stores/jobs'
import { useNavigationStore } from '../stores/navigation'

/** A new job from a library adapter: its base and LoRA shape are fixed; the dataset and epochs are asked. */
function NewJobFromAdapter({ adapter, onClose }: { adapter: LibraryAdapter; onClose: () => void }) {
  const create = useJobsStore((state) => state.create)
  const open = useNavigationStore((state) => state.open)
  const [dataset, setDataset] = useState('')
  const [epochs, setEpochs] = useState('1')
  const [error, setError] = useState<string | null>(null)
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault()
    try {
      const job = await create({
        model: { path: adapter.baseModel },
        dataset: { path: dataset.trim() },
        training: { epochs: Number(epochs) },
        initFrom: { adapterId: adapter.id },
      })
      open({ name: 'job', jobId: job.id })
    } catch (caught) {
      setError(errorMessage(caught))
    }
  }
  return (
    <form className="inline-form" data-testid="adapter-new-job" onSubmit={(event) => void submit(event)}>
      <span className="muted small">
        Base {adapter.baseModel}, rank {adapter.rank}.
      </span>
      <input
        data-testid="adapter-new-job-dataset"
        value={dataset}
        placeholder="Dataset file"
        onChange={(event) => setDataset(event.target.value)}
      />
      <input
        data-testid="adapter-new-job-epochs"
        type="number"
        min={1}
        value={epochs}
        onChange={(event) => setEpochs(event.target.value)}
        aria-label="Epochs"
      />
      <button type="submit" className="primary small" disabled={!dataset.trim()}>
        Start job
      </button>
      <button type="button" className="small" onClick={onClose}>
        Cancel
      </button>
      {error && <div className="field-error">{error}</div>}
    </form>
  )
}
/** One library adapter, with its actions; "New job from this" opens a small form in the row. */
export function AdapterRow({ adapter }: { adapter: LibraryAdapter }) {
  const exportZip = useAdaptersStore((state) => state.exportZip)
  const remove = useAdaptersStore((state) => state.remove)
  const busy = useAdaptersStore((state) => state.busy)
  const open = useNavigationStore((state) => state.open)
  const [starting, setStarting] = useState(false)
  const note = baseNote(adapter)
  const sources = adapter.combined?.sources.map((source) => `${source.label} ${(source.weight * 100).toFixed(1)}%`).join(', ')
  return (
    <tr data-testid="adapter-row" data-adapter-id={adapter.id}>
      <td>
        <strong>{adapter.name}</strong>
        <div className="muted small">
          {adapter.combined
            ? `Combined ${adapter.combined.mode === 'exact' ? 'exactly (ranks stacked)' : 'by averaging'} from ${sources}`
            : 'Imported'}
        </div>
        {note && (
          <div className="field-error" data-testid="adapter-base-missing">
            {note}
          </div>
        )}
        {starting && <NewJobFromAdapter adapter={adapter} onClose={() => setStarting(false)} />}
      </td>
      <td className="mono small">{adapter.baseModel}</td>
      <td className="number">{adapter.rank}</td>
      <td className="number" title={adapter.examplesKnown ? undefined : 'Not recorded: 1 stands in when it is combined'}>
        {adapter.examplesKnown ? adapter.examples : '1 (unknown)'}
      </td>
      <td className="number">{formatBytes(adapter.bytes)}</td>
      <td className="row-actions">
        <button className="small" data-testid="adapter-export" disabled={busy !== null} onClick={() => void exportZip(adapter.id)}>
          Export
        </button>
        <button
          className="small"
          data-testid="adapter-chat"
          disabled={!adapter.baseAvailable}
          onClick={() => open({ name: 'chat', source: { adapterId: adapter.id } })}
        >
          Chat
        </button>
        <button className="small" data-testid="adapter-new-job-button" disabled={!adapter.baseAvailable} onClick={() => setStarting(true)}>
          New job from this
        </button>
        <button
          className="small"
          data-testid="adapter-delete"
          disabled={busy !== null}
          onClick={() => window.confirm(`Delete the adapter "${adapter.name}"?`) && void remove(adapter.id)}
        >
          Delete
        </button>
      </td>
    </tr>
  )
}
