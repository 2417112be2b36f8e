/** A failed job's error: the message, the field it names, the traceback and the last terminal lines. */
import type { Job } from '@shared/jobs'
import { lastLines } from '../logic/terminal'
import { useTerminal } from '../stores/terminal'

/** Shown only for a job with an error. */
export function JobError({ job }: { job: Job }) {
  const terminal = useTerminal(job.id)
  if (!job.error) return null
  const tail = lastLines(terminal.text, 12)
  return (
    <section className="card error-card" data-testid="job-error">
      <h2>{job.status === 'failed' ? 'The job failed' : 'Last error'}</h2>
      <p className="error-message" data-testid="job-error-message">
        {job.error.message}
      </p>
      {job.error.field && (
        <p className="muted">
          Field: <span className="mono">{job.error.field}</span>
        </p>
      )}
      {job.error.traceback && (
        <details>
          <summary>Traceback</summary>
          <pre className="traceback">{job.error.traceback}</pre>
        </details>
      )}
      {tail.length > 0 && (
        <details open={!job.error.traceback}>
          <summary>Last terminal lines</summary>
          <pre className="traceback">{tail.join('\n')}</pre>
        </details>
      )}
    </section>
  )
}
