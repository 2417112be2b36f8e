/** What the trainer reported besides the loss: data, memory, out-of-memory retries, warnings, held-out loss, MFU. */
import type { JobConfig } from '@shared/config'
import { datasetLine, memoryLine, mfuText, oomLine } from '../logic/report'
import { useMetrics } from '../stores/metrics'
import { useReport, useReportStore } from '../stores/report'
import { formatLoss } from '../logic/metrics'

/** Shown once the trainer has said anything about the job. */
export function JobReportPanel({ jobId, method }: { jobId: string; method: JobConfig['method'] }) {
  const report = useReport(jobId)
  const points = useMetrics(jobId)
  const error = useReportStore((state) => state.errors[jobId])
  if (error) return <p className="error-text">{error}</p>
  if (!report || (!report.dataset && !report.memory && report.notices.length === 0 && report.ooms.length === 0)) return null
  const memory = report.memory ? memoryLine(report.memory) : null
  const lastEval = report.evals[report.evals.length - 1]
  const mfu = mfuText(points[points.length - 1]?.mfu ?? null, method)
  return (
    <section className="card report-card" data-testid="job-report">
      <h2>What the trainer reported</h2>
      <ul className="report-lines">
        {report.dataset && (
          <li data-testid="report-dataset" data-format={report.dataset.format}>
            {datasetLine(report.dataset)}
          </li>
        )}
        {memory && (
          <li data-testid="report-memory" className={memory.warning ? 'notice' : undefined}>
            {memory.text}
          </li>
        )}
        {report.ooms.map((oom) => (
          <li key={`${oom.step}-${oom.time}`} className="notice" data-testid="report-oom">
            {oomLine(oom)}
          </li>
        ))}
        {lastEval && (
          <li data-testid="report-eval">
            Held-out loss {formatLoss(lastEval.loss)} at step {lastEval.step}
            {report.evals.length > 1 && ` (first ${formatLoss(report.evals[0]?.loss)} at step ${report.evals[0]?.step})`}.
          </li>
        )}
        <li data-testid="report-mfu" title={mfu.note}>
          MFU {mfu.value} <span className="muted small">({mfu.note})</span>
        </li>
      </ul>
      {report.notices.length > 0 && (
        <details open={report.notices.some((notice) => notice.level !== 'info')}>
          <summary>Trainer messages ({report.notices.length})</summary>
          <ul className="report-notices" data-testid="report-notices">
            {report.notices.map((notice, index) => (
              <li key={index} className={notice.level === 'info' ? 'muted' : 'notice'}>
                {notice.level}: {notice.message}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  )
}
