/**
 * One job: status and actions, progress and timing, the live loss chart, the
 * GPU, the trainer's terminal, the error of a failed job and its checkpoints.
 * Choosing the page (or reloading it) fetches its history from the host (stores/sync.ts).
 */
import { useEffect, useState } from 'react'
import type { Job, MetricPoint } from '@shared/jobs'
import { BundlePanel } from '../components/BundlePanel'
import { CheckpointList } from '../components/CheckpointList'
import { EvaluationPanel } from '../components/EvaluationPanel'
import { ExportPanel } from '../components/ExportPanel'
import { GpuHistoryChart } from '../components/GpuHistoryChart'
import { GpuPanel } from '../components/GpuPanel'
import { JobActions } from '../components/JobActions'
import { JobError } from '../components/JobError'
import { JobReportPanel } from '../components/JobReportPanel'
import { LossChart } from '../components/LossChart'
import { ProgressBar } from '../components/ProgressBar'
import { StatusBadge } from '../components/StatusBadge'
import { TerminalView } from '../components/TerminalView'
import { useCheckpoints } from '../components/useCheckpoints'
import { isActive } from '../logic/actions'
import { queueRanks } from '../logic/queue'
import { elapsedSeconds, estimateRemainingSeconds, formatDuration, formatLoss } from '../logic/metrics'
import { useJob, useJobsStore } from '../stores/jobs'
import { useMetrics, useMetricsStore } from '../stores/metrics'
import { useNavigationStore } from '../stores/navigation'
import { useTerminalStore } from '../stores/terminal'

/** The current time in ms, ticking every second while `ticking`. */
function useNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (!ticking) return
    const timer = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(timer)
  }, [ticking])
  return now
}

function Stat({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className="stat-value" data-testid={testId}>
        {value}
      </div>
    </div>
  )
}

function Stats({ job, points }: { job: Job; points: readonly MetricPoint[] }) {
  const live = isActive(job.status)
  const now = useNow(live)
  const last = points[points.length - 1]
  const totalSteps = job.totalSteps || last?.step || 0
  const step = Math.max(job.step, last?.step ?? 0)
  const tokensPerSecond = job.tokensPerSecond ?? last?.tokensPerSecond ?? null
  const eta = job.status === 'running' ? estimateRemainingSeconds(points, step, totalSteps) : null
  return (
    <section className="card stats">
      <div className="stats-progress">
        <div className="stat-label">Progress</div>
        <div className="stat-value" data-testid="job-step">
          {totalSteps > 0 ? `${step} / ${totalSteps}` : '—'}
          {totalSteps > 0 && <span className="muted small"> steps · {Math.round((step / totalSteps) * 100)}%</span>}
        </div>
        <ProgressBar
          value={job.status === 'completed' ? 1 : totalSteps > 0 ? step / totalSteps : 0}
          label="Training progress"
          tone={job.status === 'completed' ? 'ok' : 'accent'}
        />
      </div>
      <Stat label="Loss" value={formatLoss(job.loss ?? last?.loss)} testId="job-loss" />
      <Stat
        label="Tokens / s"
        value={tokensPerSecond === null ? '—' : Math.round(tokensPerSecond).toLocaleString()}
        testId="job-tokens-per-second"
      />
      <Stat label="Elapsed" value={formatDuration(elapsedSeconds(job.startedAt, job.finishedAt, now))} testId="job-elapsed" />
      <Stat label="Remaining" value={job.status === 'completed' ? 'done' : formatDuration(eta)} testId="job-eta" />
    </section>
  )
}

function ModelSummary({ job }: { job: Job }) {
  const { config } = job
  return (
    <p className="muted small job-summary" data-testid="job-summary">
      {config.model.selftest ? 'Self-test model' : config.model.path} ·{' '}
      {config.dataset.datasetId ? (
        <button
          className="link small"
          data-testid="job-dataset-link"
          title={`SHA-256 ${config.dataset.sha256 ?? ''}`}
          onClick={() => useNavigationStore.getState().open({ name: 'datasets' })}
        >
          {config.dataset.path.split(/[\\/]/).pop()}
        </button>
      ) : (
        config.dataset.path.split(/[\\/]/).pop()
      )}{' '}
      · LoRA r{config.lora.rank}/α{config.lora.alpha} · lr {config.training.learningRate} · batch {config.training.batchSize} ·{' '}
      {config.training.epochs} epoch{config.training.epochs === 1 ? '' : 's'}
      {job.adapterPath && (
        <>
          {' '}
          · adapter <span className="mono">{job.adapterPath}</span>
        </>
      )}
    </p>
  )
}

/** The job page: shows the job once it is known (stores/sync.ts loads it when the page is chosen). */
export function JobView({ jobId }: { jobId: string }) {
  const job = useJob(jobId)
  const loaded = useJobsStore((state) => state.loaded)

  if (!job) {
    return (
      <div className="page">
        <p className="muted">{loaded ? `No job with id ${jobId}. It may have been deleted; pick one on the left.` : 'Loading the job…'}</p>
      </div>
    )
  }

  return <JobDetails job={job} />
}

function JobDetails({ job }: { job: Job }) {
  const points = useMetrics(job.id)
  const metricsError = useMetricsStore((state) => state.errors[job.id])
  const terminalError = useTerminalStore((state) => state.errors[job.id])
  const [checkpointRefresh, setCheckpointRefresh] = useState(0)
  const checkpoints = useCheckpoints(job, checkpointRefresh)
  const open = useNavigationStore((state) => state.open)
  // Ranked among the queued jobs the window knows, as the sidebar shows it (a stored number can be stale).
  const queueRank = useJobsStore((state) => (job.status === 'queued' ? queueRanks(state.list).get(job.id) : undefined))

  return (
    <div className="page job-page" data-testid="job-page" data-job-id={job.id}>
      <header className="page-header">
        <div className="title-row">
          <h1 data-testid="job-name">{job.name}</h1>
          <StatusBadge status={job.status} testId="job-status" />
          {queueRank !== undefined && <span className="muted">#{queueRank} in queue</span>}
        </div>
        <ModelSummary job={job} />
        {job.status === 'completed' && (
          <button
            className="small align-start"
            data-testid="job-chat"
            onClick={() => open({ name: 'chat', source: { jobId: job.id, checkpoint: null } })}
          >
            Chat with this model
          </button>
        )}
        <JobActions
          job={job}
          hasCheckpoint={checkpoints.checkpoints === null || checkpoints.checkpoints.length > 0}
          onCheckpointRequested={() => {
            // The trainer saves after its current step: look again shortly after.
            setTimeout(() => setCheckpointRefresh((value) => value + 1), 1500)
          }}
        />
      </header>
      <Stats job={job} points={points} />
      <JobError job={job} />
      <JobReportPanel jobId={job.id} method={job.config.method} />
      <div className="job-grid">
        <section className="card chart-card">
          <h2>Loss</h2>
          {metricsError && <p className="error-text">{metricsError}</p>}
          <LossChart points={points} totalSteps={job.totalSteps} />
        </section>
        <GpuPanel gpus={job.config.training.gpus} mfu={points[points.length - 1]?.mfu ?? null} />
      </div>
      <GpuHistoryChart jobId={job.id} live={isActive(job.status)} points={points} totalSteps={job.totalSteps} />
      <section className="card">
        <h2>Terminal</h2>
        {terminalError && <p className="error-text">{terminalError}</p>}
        <TerminalView jobId={job.id} />
      </section>
      <CheckpointList job={job} checkpoints={checkpoints.checkpoints} loadError={checkpoints.error} refresh={checkpoints.refresh} />
      <EvaluationPanel job={job} />
      <ExportPanel job={job} checkpoints={checkpoints.checkpoints} />
      <BundlePanel job={job} />
    </div>
  )
}
