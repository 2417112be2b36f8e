/**
 * Compare runs: pick two to six jobs, see their training and held-out loss overlaid against
 * step, tokens seen or training time, a summary of each, and the settings in which they
 * differ. The picked jobs live in the address (#/compare/a,b,c), so a comparison can be
 * reopened or shared with another window.
 */
import { useEffect, useMemo, useState } from 'react'
import type { Job } from '@shared/jobs'
import { CompareChart, runColours, type CompareLine } from '../components/CompareChart'
import { StatusBadge } from '../components/StatusBadge'
import {
  axisTitles,
  compareAxes,
  compareLimits,
  configDifferences,
  heldOutCurve,
  summarizeRun,
  trainingCurve,
  type CompareAxis,
} from '../logic/compare'
import { formatLoss } from '../logic/metrics'
import { useJobsStore } from '../stores/jobs'
import { useMetricsStore } from '../stores/metrics'
import { useNavigationStore } from '../stores/navigation'
import { useReportStore } from '../stores/report'

function JobPicker({ jobs, picked }: { jobs: readonly Job[]; picked: readonly string[] }) {
  const open = useNavigationStore((state) => state.open)
  const toggle = (jobId: string): void => {
    // The store's page, not this render's props: two quick clicks must both count.
    const page = useNavigationStore.getState().page
    const current = page.name === 'compare' ? page.jobIds : picked
    const next = current.includes(jobId) ? current.filter((id) => id !== jobId) : [...current, jobId]
    open({ name: 'compare', jobIds: next })
  }
  return (
    <section className="card">
      <h2>Runs</h2>
      <p className="muted small">
        Pick {compareLimits.min} to {compareLimits.max} jobs. {picked.length} picked.
      </p>
      <ul className="compare-picker" data-testid="compare-picker">
        {jobs.map((job) => {
          const index = picked.indexOf(job.id)
          const full = index < 0 && picked.length >= compareLimits.max
          return (
            <li key={job.id}>
              <label className={full ? 'muted' : undefined}>
                <input
                  type="checkbox"
                  data-testid="compare-pick"
                  data-job-id={job.id}
                  checked={index >= 0}
                  disabled={full}
                  onChange={() => toggle(job.id)}
                />
                {index >= 0 && <span className="swatch" style={{ background: runColours[index % runColours.length] }} />}
                <span>{job.name}</span>
                <StatusBadge status={job.status} testId="compare-pick-status" />
              </label>
            </li>
          )
        })}
      </ul>
    </section>
  )
}

/** The comparison page for the jobs named in the address. */
export function CompareView({ jobIds }: { jobIds: string[] }) {
  const list = useJobsStore((state) => state.list)
  const byId = useJobsStore((state) => state.byId)
  const loaded = useJobsStore((state) => state.loaded)
  const metrics = useMetricsStore((state) => state.byJob)
  const reports = useReportStore((state) => state.byJob)
  const [axis, setAxis] = useState<CompareAxis>('step')

  useEffect(() => {
    for (const jobId of jobIds) {
      void useMetricsStore.getState().load(jobId)
      void useReportStore.getState().load(jobId)
    }
  }, [jobIds])

  const jobs = jobIds.map((id) => byId[id]).filter((job): job is Job => job !== undefined)
  const missing = jobIds.filter((id) => byId[id] === undefined)
  // Memoised so that the chart is rebuilt only when a curve or the axis changes.
  const lines: CompareLine[] = useMemo(
    () =>
      jobIds.flatMap((id) => {
        const job = byId[id]
        if (!job) return []
        const points = metrics[id] ?? []
        return [{ label: job.name, training: trainingCurve(points, axis), heldOut: heldOutCurve(points, reports[id]?.evals ?? [], axis) }]
      }),
    [jobIds, byId, metrics, reports, axis],
  )
  const differences = configDifferences(jobs)
  const ready = jobs.length >= compareLimits.min

  return (
    <div className="page" data-testid="compare-page">
      <header className="page-header">
        <h1>Compare runs</h1>
        <p className="muted">Loss curves overlaid, each run's pace and memory, and only the settings that differ.</p>
      </header>
      <JobPicker jobs={list} picked={jobIds} />
      {missing.length > 0 && loaded && <p className="error-text">No job with id {missing.join(', ')}; it may have been deleted.</p>}
      {!ready && <p className="muted">Pick at least {compareLimits.min} runs to compare them.</p>}
      {ready && (
        <>
          <section className="card">
            <div className="title-row">
              <h2>Loss</h2>
              <div className="segmented" role="radiogroup" aria-label="x axis">
                {compareAxes.map((choice) => (
                  <button
                    key={choice}
                    role="radio"
                    aria-checked={axis === choice}
                    className={axis === choice ? 'selected' : undefined}
                    data-testid={`compare-axis-${choice}`}
                    onClick={() => setAxis(choice)}
                  >
                    {axisTitles[choice]}
                  </button>
                ))}
              </div>
            </div>
            <CompareChart lines={lines} axisTitle={axisTitles[axis]} />
          </section>
          <section className="card">
            <h2>Runs</h2>
            <table className="table" data-testid="compare-summary">
              <thead>
                <tr>
                  <th>Run</th>
                  <th>Status</th>
                  <th className="number">Steps</th>
                  <th className="number">Final loss</th>
                  <th className="number">Best held-out</th>
                  <th className="number">Tokens / s (median)</th>
                  <th className="number">Memory (estimated)</th>
                </tr>
              </thead>
              <tbody>
                {jobs.map((job, index) => {
                  const summary = summarizeRun(metrics[job.id] ?? [], reports[job.id])
                  return (
                    <tr key={job.id} data-testid="compare-row" data-job-id={job.id}>
                      <td>
                        <span className="swatch" style={{ background: runColours[index % runColours.length] }} /> {job.name}
                      </td>
                      <td>
                        <StatusBadge status={job.status} testId="compare-row-status" />
                      </td>
                      <td className="number">{summary.steps}</td>
                      <td className="number">{formatLoss(summary.finalLoss)}</td>
                      <td className="number">{formatLoss(summary.bestHeldOut)}</td>
                      <td className="number">
                        {summary.tokensPerSecond === null ? '—' : Math.round(summary.tokensPerSecond).toLocaleString()}
                      </td>
                      <td className="number">
                        {summary.estimatedMemoryMb === null ? '—' : `${Math.round(summary.estimatedMemoryMb).toLocaleString()} MB`}
                      </td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </section>
          <section className="card">
            <h2>Settings that differ</h2>
            {differences.length === 0 ? (
              <p className="muted" data-testid="compare-same">
                These runs have the same settings.
              </p>
            ) : (
              <table className="table" data-testid="compare-differences">
                <thead>
                  <tr>
                    <th>Setting</th>
                    {jobs.map((job) => (
                      <th key={job.id}>{job.name}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {differences.map((row) => (
                    <tr key={row.setting} data-testid="compare-difference" data-setting={row.setting}>
                      <td className="mono">{row.setting}</td>
                      {row.values.map((value, index) => (
                        <td key={jobs[index]!.id} className="mono">
                          {value}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </div>
  )
}
