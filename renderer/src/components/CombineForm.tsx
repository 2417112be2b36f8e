/**
 * The Adapters page's form combining 2+ adapters of completed jobs or the library (a job's final
 * adapter or a checkpoint), showing each one's weight and the result's rank, and refusing what the
 * host would refuse from the shapes it reads.
 */
import { useEffect, useState, type FormEvent } from 'react'
import { combineModeLabels, combineModes, combineProblem, type AdapterSource, type CombineShape } from '@shared/adapters'
import type { Job } from '@shared/jobs'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { combinedRank, weightShares, type PickedSource } from '../logic/adapters'
import { useAdaptersStore } from '../stores/adapters'
import { useJobsStore } from '../stores/jobs'

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
function JobAdapterChoice({
  job,
  checkpoints,
  value,
  onChange,
}: {
  job: Job | undefined
  checkpoints: string[]
  value: string | null
  onChange: (checkpoint: string | null) => void
}) {
  if (!job) return null
  return (
    <select
      className="small"
      data-testid="combine-checkpoint"
      aria-label={`Which adapter of ${job.name}`}
      value={value ?? ''}
      onChange={(event) => onChange(event.target.value || null)}
    >
      {job.status === 'completed' && <option value="">final adapter</option>}
      {checkpoints.map((name) => (
        <option key={name} value={name}>
          checkpoint {name}
        </option>
      ))}
    </select>
  )
}

/** Combines the picked adapters into a new library adapter (adapters.combine). */
export function CombineForm() {
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
        return {
          key: `job:${job.id}`,
          label: `Job ${job.name}`,
          examples: examples[job.id] ?? null,
          source: { jobId: job.id, checkpoint },
          rank: job.config.lora.rank,
        }
      }),
    ...library.map((adapter) => ({
      key: `adapter:${adapter.id}`,
      label: `Library: ${adapter.name}`,
      examples: adapter.examples,
      source: { adapterId: adapter.id },
      rank: adapter.rank,
    })),
  ]
  const chosen = picked
    .map((key) => candidates.find((candidate) => candidate.key === key))
    .filter((candidate): candidate is Candidate => candidate !== undefined)
  const shares = weightShares(chosen)
  const rank = combinedRank(
    mode,
    chosen.map((candidate) => candidate.rank),
  )
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

  const toggle = (key: string) =>
    setPicked((current) => (current.includes(key) ? current.filter((other) => other !== key) : [...current, key]))
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
      <p className="muted small">
        Adapters of the same base model and LoRA shape, each weighted by its number of training examples (federated averaging).
      </p>
      {candidates.length < 2 && (
        <p className="muted">Combining needs two adapters: complete two jobs on the same base model, or import adapters.</p>
      )}
      <ul className="adapter-picks">
        {candidates.map((candidate) => {
          const index = chosen.indexOf(candidate)
          const jobId = 'jobId' in candidate.source ? candidate.source.jobId : null
          return (
            <li key={candidate.key}>
              <label>
                <input
                  type="checkbox"
                  data-testid="combine-pick"
                  data-key={candidate.key}
                  checked={index >= 0}
                  onChange={() => toggle(candidate.key)}
                />
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
            <input
              type="radio"
              name="combine-mode"
              data-testid={`combine-mode-${choice}`}
              checked={mode === choice}
              onChange={() => setMode(choice)}
            />
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
          {mode === 'exact'
            ? ': the sum of theirs, so that its B·A is exactly the weighted average.'
            : ': every tensor is averaged, an approximation of averaging the adapters.'}
        </p>
      )}
      <label>
        Name{' '}
        <input data-testid="combine-name" value={name} placeholder="Combined adapter" onChange={(event) => setName(event.target.value)} />
      </label>
      <button
        type="submit"
        className="primary"
        data-testid="combine-submit"
        disabled={chosen.length < 2 || !shapesKnown || problem !== null || busy !== null}
      >
        Combine {chosen.length > 0 ? chosen.length : ''} adapters
      </button>
    </form>
  )
}
