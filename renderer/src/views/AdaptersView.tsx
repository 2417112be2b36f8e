/**
 * The Adapters page: the library (combined and imported adapters) with export, delete and
 * "new job from this adapter"; a form combining 2+ adapters of completed jobs or the library,
 * (their final adapter or a checkpoint) showing each one's weight and the result's rank; and
 * import of a zip by its path.
 */
import { useEffect, useState, type FormEvent } from 'react'
import { combineModeLabels, combineModes, combineProblem, type AdapterSource, type CombineShape, type LibraryAdapter } from '@shared/adapters'
import type { Job } from '@shared/jobs'
import { getClient, getShell } from '../api/client'
import { errorMessage } from '../api/errors'
import { baseNote, combinedRank, weightShares, type PickedSource } from '../logic/adapters'
import { formatBytes } from '../logic/metrics'
import { useAdaptersStore } from '../stores/adapters'
import { useJobsStore } from '../stores/jobs'
import { useNavigationStore } from '../stores/navigation'

type Mode = (typeof combineModes)[number]

/** A candidate of the combine form: a completed job's adapter or a library adapter. */
interface Candidate extends PickedSource {
  source: AdapterSource
  rank: number
}

/** The key of a candidate's current adapter (a job's final one or a checkpoint) for its shape. */
function shapeKey(candidate: Candidate): string {
  return 'jobId' in candidate.source ? `${candidate.key}:${candidate.source.checkpoint ?? ''}` : candidate.key
}

/** The final adapter of a completed job, or one of its checkpoints. */
function JobAdapterChoice({ job, checkpoints, value, onChange }: { job: Job | undefined; checkpoints: string[]; value: string | null; onChange: (checkpoint: string | null) => void }) {
  if (!job) return null
  return (
    <select className="small" data-testid="combine-checkpoint" aria-label={`Which adapter of ${job.name}`} value={value ?? ''} onChange={(event) => onChange(event.target.value || null)}>
      {job.status === 'completed' && <option value="">final adapter</option>}
      {checkpoints.map((name) => (
        <option key={name} value={name}>
          checkpoint {name}
        </option>
      ))}
    </select>
  )
}

function CombineForm() {
  const jobs = useJobsStore((state) => state.list)
  const library = useAdaptersStore((state) => state.list)
  const combine = useAdaptersStore((state) => state.combine)
  const busy = useAdaptersStore((state) => state.busy)
  const [picked, setPicked] = useState<string[]>([])
  const [mode, setMode] = useState<Mode>('average')
  const [name, setName] = useState('')
  // Training examples of picked jobs, read from their reports.
  const [examples, setExamples] = useState<Record<string, number | null>>({})
  // Which adapter of a job: its final one (null) or a checkpoint; checkpoints listed once the job is picked.
  const [checkpointOf, setCheckpointOf] = useState<Record<string, string | null>>({})
  const [checkpoints, setCheckpoints] = useState<Record<string, string[]>>({})
  // Each picked adapter's shape as the host reads it (adapters.shapes), by shapeKey; a string when it could not be read.
  const [shapes, setShapes] = useState<Record<string, CombineShape | string | null>>({})

  const candidates: Candidate[] = [
    ...jobs
      .filter((job) => job.status === 'completed' || job.step > 0)
      .map((job) => {
        const checkpoint = checkpointOf[job.id] ?? (job.status === 'completed' ? null : (checkpoints[job.id]?.[0] ?? null))
        return { key: `job:${job.id}`, label: `Job ${job.name}`, examples: examples[job.id] ?? null, source: { jobId: job.id, checkpoint }, rank: job.config.lora.rank }
      }),
    ...library.map((adapter) => ({ key: `adapter:${adapter.id}`, label: `Library: ${adapter.name}`, examples: adapter.examples, source: { adapterId: adapter.id }, rank: adapter.rank })),
  ]
  const chosen = picked.map((key) => candidates.find((candidate) => candidate.key === key)).filter((candidate): candidate is Candidate => candidate !== undefined)
  const shares = weightShares(chosen)
  const rank = combinedRank(mode, chosen.map((candidate) => candidate.rank))
  // The host's own check on the shapes it reads: a combination it would refuse is not offered.
  const chosenShapes = chosen.map((candidate) => shapes[shapeKey(candidate)])
  const unreadable = chosenShapes.find((shape): shape is string => typeof shape === 'string')
  const shapesKnown = chosenShapes.every((shape) => shape !== undefined && shape !== null)
  const problem = unreadable ?? (chosen.length >= 2 && shapesKnown ? combineProblem(mode, chosenShapes as CombineShape[]) : null)

  useEffect(() => {
    for (const candidate of chosen) {
      const key = shapeKey(candidate)
      if (key in shapes) continue
      setShapes((current) => ({ ...current, [key]: null }))
      getClient()
        .request('adapters.shapes', { sources: [candidate.source] })
        .then(
          ([shape]) => setShapes((current) => ({ ...current, [key]: shape ?? null })),
          (error: unknown) => setShapes((current) => ({ ...current, [key]: errorMessage(error) })),
        )
    }
  }, [chosen, shapes])

  useEffect(() => {
    for (const candidate of chosen) {
      if (!('jobId' in candidate.source) || candidate.source.jobId in examples) continue
      const jobId = candidate.source.jobId
      setExamples((current) => ({ ...current, [jobId]: null }))
      getClient()
        .request('jobs.checkpoints', { jobId })
        .then(
          (list) => setCheckpoints((current) => ({ ...current, [jobId]: list.map((checkpoint) => checkpoint.name) })),
          () => setCheckpoints((current) => ({ ...current, [jobId]: [] })),
        )
      getClient()
        .request('jobs.report', { jobId })
        .then(
          (report) => setExamples((current) => ({ ...current, [jobId]: report.dataset?.examples ?? 1 })),
          () => setExamples((current) => ({ ...current, [jobId]: 1 })),
        )
    }
  }, [chosen, examples])

  const toggle = (key: string) => setPicked((current) => (current.includes(key) ? current.filter((other) => other !== key) : [...current, key]))
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault()
    if (await combine({ name: name.trim() || 'Combined adapter', mode, sources: chosen.map((candidate) => candidate.source) })) {
      setPicked([])
      setName('')
    }
  }

  return (
    <form className="card form" data-testid="combine-form" onSubmit={(event) => void submit(event)}>
      <h2>Combine adapters</h2>
      <p className="muted small">Adapters of the same base model and LoRA shape, each weighted by its number of training examples (federated averaging).</p>
      {candidates.length < 2 && <p className="muted">Combining needs two adapters: complete two jobs on the same base model, or import adapters.</p>}
      <ul className="adapter-picks">
        {candidates.map((candidate) => {
          const index = chosen.indexOf(candidate)
          const jobId = 'jobId' in candidate.source ? candidate.source.jobId : null
          return (
            <li key={candidate.key}>
              <label>
                <input type="checkbox" data-testid="combine-pick" data-key={candidate.key} checked={index >= 0} onChange={() => toggle(candidate.key)} />
                {candidate.label} <span className="muted small">rank {candidate.rank}</span>
                {index >= 0 && jobId !== null && (
                  <JobAdapterChoice
                    job={jobs.find((job) => job.id === jobId)}
                    checkpoints={checkpoints[jobId] ?? []}
                    value={'checkpoint' in candidate.source ? candidate.source.checkpoint : null}
                    onChange={(checkpoint) => setCheckpointOf((current) => ({ ...current, [jobId]: checkpoint }))}
                  />
                )}
                {index >= 0 && (
                  <span className="muted small" data-testid="combine-weight">
                    {' '}
                    · {candidate.examples ?? '…'} examples{shares ? `, weight ${(shares[index]! * 100).toFixed(1)}%` : ''}
                  </span>
                )}
              </label>
            </li>
          )
        })}
      </ul>
      <fieldset className="model-choice">
        <legend>Mode</legend>
        {combineModes.map((choice) => (
          <label className="radio" key={choice}>
            <input type="radio" name="combine-mode" data-testid={`combine-mode-${choice}`} checked={mode === choice} onChange={() => setMode(choice)} />
            {combineModeLabels[choice]}
          </label>
        ))}
      </fieldset>
      {problem && (
        <p className="error-text small" data-testid="combine-problem" role="alert">
          {problem}
        </p>
      )}
      {rank !== null && !problem && (
        <p className="muted small" data-testid="combine-rank">
          The result has rank {rank}
          {mode === 'exact' ? ': the sum of theirs, so that its B·A is exactly the weighted average.' : ': every tensor is averaged, an approximation of averaging the adapters.'}
        </p>
      )}
      <label>
        Name <input data-testid="combine-name" value={name} placeholder="Combined adapter" onChange={(event) => setName(event.target.value)} />
      </label>
      <button type="submit" className="primary" data-testid="combine-submit" disabled={chosen.length < 2 || !shapesKnown || problem !== null || busy !== null}>
        Combine {chosen.length > 0 ? chosen.length : ''} adapters
      </button>
    </form>
  )
}

function ImportForm() {
  const importZip = useAdaptersStore((state) => state.importZip)
  const uploadZip = useAdaptersStore((state) => state.uploadZip)
  const [dragging, setDragging] = useState(false)
  // In a browser the zip is on this machine, not the server's: it is uploaded (the app reads paths).
  const browser = !getShell()
  const upload = (file: File | undefined): void => {
    if (file) void uploadZip(file)
  }
  const busy = useAdaptersStore((state) => state.busy)
  const [zip, setZip] = useState('')
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault()
    if (await importZip({ path: zip.trim() })) setZip('')
  }
  return (
    <form className="card form" data-testid="import-form" onSubmit={(event) => void submit(event)}>
      <h2>Import a zip</h2>
      <p className="muted small">An adapter exported by Tunedeck on another machine, or any zip with adapter_config.json and adapter_model.safetensors. It is checked before it is kept.</p>
      {browser && (
        <label
          className={`drop-zone${dragging ? ' dragging' : ''}`}
          data-testid="import-drop"
          onDragOver={(event) => {
            event.preventDefault()
            setDragging(true)
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(event) => {
            event.preventDefault()
            setDragging(false)
            upload(event.dataTransfer.files[0])
          }}
        >
          Drop an adapter zip here, or{' '}
          <input
            type="file"
            accept=".zip,application/zip"
            data-testid="import-file"
            disabled={busy !== null}
            onChange={(event) => {
              upload(event.target.files?.[0])
              event.target.value = ''
            }}
          />
        </label>
      )}
      <label>
        {browser ? 'Or a zip already on the server' : 'Zip file'} <input data-testid="import-path" value={zip} placeholder="/home/me/adapter.zip" onChange={(event) => setZip(event.target.value)} />
      </label>
      <button type="submit" data-testid="import-submit" disabled={!zip.trim() || busy !== null}>
        Import
      </button>
    </form>
  )
}

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
      const job = await create({ model: { path: adapter.baseModel }, dataset: { path: dataset.trim() }, training: { epochs: Number(epochs) }, initFrom: { adapterId: adapter.id } })
      open({ name: 'job', jobId: job.id })
    } catch (caught) {
      setError(errorMessage(caught))
    }
  }
  return (
    <form className="inline-form" data-testid="adapter-new-job" onSubmit={(event) => void submit(event)}>
      <span className="muted small">Base {adapter.baseModel}, rank {adapter.rank}.</span>
      <input data-testid="adapter-new-job-dataset" value={dataset} placeholder="Dataset file" onChange={(event) => setDataset(event.target.value)} />
      <input data-testid="adapter-new-job-epochs" type="number" min={1} value={epochs} onChange={(event) => setEpochs(event.target.value)} aria-label="Epochs" />
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

function AdapterRow({ adapter }: { adapter: LibraryAdapter }) {
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
          {adapter.combined ? `Combined ${adapter.combined.mode === 'exact' ? 'exactly (ranks stacked)' : 'by averaging'} from ${sources}` : 'Imported'}
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
        <button className="small" data-testid="adapter-chat" disabled={!adapter.baseAvailable} onClick={() => open({ name: 'chat', source: { adapterId: adapter.id } })}>
          Chat
        </button>
        <button className="small" data-testid="adapter-new-job-button" disabled={!adapter.baseAvailable} onClick={() => setStarting(true)}>
          New job from this
        </button>
        <button className="small" data-testid="adapter-delete" disabled={busy !== null} onClick={() => window.confirm(`Delete the adapter "${adapter.name}"?`) && void remove(adapter.id)}>
          Delete
        </button>
      </td>
    </tr>
  )
}

/** The page. */
export function AdaptersView() {
  const list = useAdaptersStore((state) => state.list)
  const loaded = useAdaptersStore((state) => state.loaded)
  const load = useAdaptersStore((state) => state.load)
  const busy = useAdaptersStore((state) => state.busy)
  const error = useAdaptersStore((state) => state.error)
  const message = useAdaptersStore((state) => state.message)
  useEffect(() => void load(), [load])
  return (
    <div className="page adapters">
      <header className="page-header">
        <h1>Adapters</h1>
        <p className="muted">Combined and imported LoRA adapters, ready to export or to start a new job from.</p>
      </header>
      {busy && <div className="notice" role="status">{busy}</div>}
      {error && (
        <div className="form-error" data-testid="adapters-error" role="alert">
          {error}
        </div>
      )}
      {message && <p className="muted" data-testid="adapters-message">{message}</p>}
      <section className="card">
        <h2>Library</h2>
        {loaded && list.length === 0 && <p className="muted">No adapters yet: combine some or import a zip.</p>}
        {list.length > 0 && (
          <table className="table" data-testid="adapter-list">
            <thead>
              <tr>
                <th>Adapter</th>
                <th>Base model</th>
                <th className="number">Rank</th>
                <th className="number">Examples</th>
                <th className="number">Size</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((adapter) => (
                <AdapterRow key={adapter.id} adapter={adapter} />
              ))}
            </tbody>
          </table>
        )}
      </section>
      <div className="adapter-forms">
        <CombineForm />
        <ImportForm />
      </div>
    </div>
  )
}
