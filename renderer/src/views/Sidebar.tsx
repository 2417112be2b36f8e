/**
 * The left column: new job, set-up, the jobs with their progress, the queued
 * jobs' places with move up / down, and the queue's stop / start switch.
 */
import { useMemo, useState } from 'react'
import type { Job } from '@shared/jobs'
import { ImportRunPanel } from '../components/ImportRunPanel'
import { ProgressBar } from '../components/ProgressBar'
import { RemoteBadge } from '../components/RemoteHostCard'
import { StatusBadge } from '../components/StatusBadge'
import { matchesJobFilter } from '../logic/jobFilter'
import { formatBytes } from '../logic/metrics'
import { moveTarget, queueRanks } from '../logic/queue'
import { useJobsStore } from '../stores/jobs'
import { useNavigationStore } from '../stores/navigation'
import { useQueueStore } from '../stores/queue'
import { useSystemStore } from '../stores/system'

/** #n with move up / down, under a queued job's row (buttons cannot nest in the row's button). */
function QueueControls({ job, ranks }: { job: Job; ranks: ReadonlyMap<string, number> }) {
  const move = useQueueStore((state) => state.move)
  const rank = ranks.get(job.id)
  if (rank === undefined) return null
  const up = moveTarget(ranks, job.id, 'up')
  const down = moveTarget(ranks, job.id, 'down')
  return (
    <div className="queue-controls" data-testid="queue-controls" data-job-id={job.id}>
      <span className="queue-position" data-testid="queue-position">
        #{rank}
      </span>
      <span>in queue</span>
      <button
        className="small"
        data-testid="queue-move-up"
        aria-label={`Move ${job.name} up the queue`}
        title="Move up"
        disabled={up === null}
        onClick={() => up !== null && void move(job.id, up)}
      >
        ↑
      </button>
      <button
        className="small"
        data-testid="queue-move-down"
        aria-label={`Move ${job.name} down the queue`}
        title="Move down"
        disabled={down === null}
        onClick={() => down !== null && void move(job.id, down)}
      >
        ↓
      </button>
    </div>
  )
}

function JobRow({ job, selected, ranks }: { job: Job; selected: boolean; ranks: ReadonlyMap<string, number> }) {
  const open = useNavigationStore((state) => state.open)
  const fraction = job.totalSteps > 0 ? job.step / job.totalSteps : 0
  const bytes = useJobsStore((state) => state.disk[job.id])
  return (
    <li>
      <button
        className={`job-row${selected ? ' selected' : ''}`}
        data-testid="job-row"
        data-job-id={job.id}
        aria-current={selected ? 'page' : undefined}
        onClick={() => open({ name: 'job', jobId: job.id })}
      >
        <span className="job-row-top">
          <span className="job-row-name" title={job.name}>
            {job.name}
          </span>
          <StatusBadge status={job.status} testId="job-row-status" />
        </span>
        <ProgressBar
          value={job.status === 'completed' ? 1 : fraction}
          label={`${job.name} progress`}
          tone={job.status === 'failed' ? 'danger' : job.status === 'completed' ? 'ok' : 'accent'}
        />
        <span className="job-row-bottom">
          <span data-testid="job-row-progress">{job.totalSteps > 0 ? `${job.step} / ${job.totalSteps}` : 'not started'}</span>
          {bytes !== undefined && bytes > 0 && (
            <span className="job-row-disk" data-testid="job-row-disk" title="Disk used by the job's checkpoints, adapter and logs">
              {formatBytes(bytes)}
            </span>
          )}
        </span>
      </button>
      <QueueControls job={job} ranks={ranks} />
    </li>
  )
}

function PythonStatus() {
  const info = useSystemStore((state) => state.info)
  const open = useNavigationStore((state) => state.open)
  const page = useNavigationStore((state) => state.page)
  const ready = info?.python.found && info.envState !== 'failed'
  return (
    <button
      className={`nav-link${page.name === 'setup' ? ' selected' : ''}`}
      data-testid="nav-setup"
      onClick={() => open({ name: 'setup' })}
    >
      <span className={`dot ${info ? (ready ? 'dot-ok' : 'dot-warn') : ''}`} />
      {info ? (ready ? `Python ${info.python.version ?? ''}` : 'Set up Python') : 'Python…'}
      {info?.python.cudaAvailable && <span className="tag">CUDA</span>}
    </button>
  )
}

function QueueSwitch() {
  const queue = useQueueStore((state) => state.state)
  const error = useQueueStore((state) => state.error)
  const setQueue = useQueueStore((state) => state.set)
  if (!queue) return error ? <div className="sidebar-footer error-text small">{error}</div> : null
  return (
    <div className="sidebar-footer">
      <span className="muted small" data-testid="queue-state">
        Queue {queue.running ? 'running' : 'on hold'}
      </span>
      {/* Not "Stop": that is the chat's button for an answer; this one only holds jobs that wait. */}
      <button
        className="small"
        data-testid="queue-toggle"
        data-running={queue.running}
        title={queue.running ? 'Queued jobs wait; running jobs go on' : 'Queued jobs start again'}
        onClick={() => void setQueue({ running: !queue.running })}
      >
        {queue.running ? 'Hold the queue' : 'Run the queue'}
      </button>
      {error && <div className="error-text small">{error}</div>}
    </div>
  )
}

/** The sidebar. */
export function Sidebar() {
  const jobs = useJobsStore((state) => state.list)
  const loaded = useJobsStore((state) => state.loaded)
  const loadError = useJobsStore((state) => state.loadError)
  const page = useNavigationStore((state) => state.page)
  const open = useNavigationStore((state) => state.open)
  const ranks = useMemo(() => queueRanks(jobs), [jobs])
  const [query, setQuery] = useState('')
  const shown = useMemo(() => jobs.filter((job) => matchesJobFilter(job, query)), [jobs, query])
  return (
    <aside className="sidebar">
      <button className="brand" onClick={() => open({ name: 'home' })}>
        <span className="brand-mark">▲</span> Tunedeck
      </button>
      <RemoteBadge />
      <button className="primary wide" data-testid="new-job-button" onClick={() => open({ name: 'new' })}>
        + New job
      </button>
      <PythonStatus />
      <button
        className={`nav-link${page.name === 'models' ? ' selected' : ''}`}
        data-testid="nav-models"
        onClick={() => open({ name: 'models' })}
      >
        Models
      </button>
      <button
        className={`nav-link${page.name === 'compare' ? ' selected' : ''}`}
        data-testid="nav-compare"
        onClick={() => open({ name: 'compare', jobIds: page.name === 'job' ? [page.jobId] : [] })}
      >
        Compare runs
      </button>
      <button
        className={`nav-link${page.name === 'chat' ? ' selected' : ''}`}
        data-testid="nav-chat"
        onClick={() => open({ name: 'chat' })}
      >
        Chat
      </button>
      <button
        className={`nav-link${page.name === 'adapters' ? ' selected' : ''}`}
        data-testid="nav-adapters"
        onClick={() => open({ name: 'adapters' })}
      >
        Adapters
      </button>
      <button
        className={`nav-link${page.name === 'datasets' ? ' selected' : ''}`}
        data-testid="nav-datasets"
        onClick={() => open({ name: 'datasets' })}
      >
        Datasets
      </button>
      <h3 className="sidebar-heading">Jobs</h3>
      <ImportRunPanel />
      {loadError && <p className="error-text small">{loadError}</p>}
      {loaded && jobs.length === 0 && !loadError && <p className="muted small pad">No jobs yet.</p>}
      {jobs.length > 1 && (
        <input
          className="job-search"
          data-testid="job-search"
          type="search"
          placeholder="Search: name, status:failed, model:…, date:2026-11"
          aria-label="Search the jobs by name, status, model, dataset or date"
          value={query}
          onChange={(event) => setQuery(event.target.value)}
        />
      )}
      {jobs.length > 0 && shown.length === 0 && <p className="muted small pad">No job matches "{query}".</p>}
      <ul className="job-list" data-testid="job-list">
        {shown.map((job) => (
          <JobRow key={job.id} job={job} ranks={ranks} selected={page.name === 'job' && page.jobId === job.id} />
        ))}
      </ul>
      <QueueSwitch />
    </aside>
  )
}
