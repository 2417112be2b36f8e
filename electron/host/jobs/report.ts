/**
 * Builds a job's report (electron/shared/report.ts) from its stored notes.
 * A resumed job reads its data and estimates memory again: the newest
 * dataset and memory events win, and an eval of a step trained twice keeps
 * its newest loss.
 */
import { jobReportSchema, noticeLimit, type JobReport } from '@shared/report'
import type { Store } from '../store'

type Data = Record<string, unknown>

const number = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null)
const integer = (value: unknown): number => (typeof value === 'number' && Number.isInteger(value) ? value : 0)

function datasetOf(data: Data): JobReport['dataset'] {
  return {
    format: String(data.format ?? 'unknown'),
    examples: integer(data.examples),
    skipped: integer(data.skipped),
    truncated: integer(data.truncated),
    validationExamples: integer(data.validationExamples),
    packedRows: typeof data.packedRows === 'number' ? integer(data.packedRows) : null,
  }
}

function memoryOf(data: Data): JobReport['memory'] {
  const detail = typeof data.detail === 'object' && data.detail !== null ? (data.detail as Record<string, unknown>) : {}
  return {
    estimatedMb: number(data.estimatedMb) ?? 0,
    freeMb: number(data.freeMb),
    fits: typeof data.fits === 'boolean' ? data.fits : null,
    detail: Object.fromEntries(Object.entries(detail).filter(([, value]) => number(value) !== null)) as Record<string, number>,
    ...(typeof data.ranks === 'number' && data.ranks > 1 ? { ranks: integer(data.ranks) } : {}),
    ...(typeof data.sharding === 'string' ? { sharding: data.sharding } : {}),
    ...(typeof data.placement === 'string' ? { placement: data.placement } : {}),
  }
}

/** The report of one job; empty parts where the trainer has not said anything yet. */
export function buildReport(store: Store, jobId: string): JobReport {
  const report: JobReport = { jobId, dataset: null, memory: null, ooms: [], notices: [], evals: [] }
  const evals = new Map<number, number>()
  const seen = new Set<string>()
  for (const { type, data } of store.notes.list(jobId)) {
    const time = (number(data.time) ?? 0) * 1000
    if (type === 'dataset') report.dataset = datasetOf(data)
    else if (type === 'memory') report.memory = memoryOf(data)
    else if (type === 'eval' && number(data.loss) !== null) evals.set(integer(data.step), number(data.loss)!)
    else if (type === 'oom') {
      report.ooms.push({
        step: integer(data.step),
        batchSize: integer(data.batchSize),
        maxSeqLength: integer(data.maxSeqLength),
        retry: data.retry === true,
        newBatchSize: typeof data.newBatchSize === 'number' ? data.newBatchSize : null,
        newGradientAccumulation: typeof data.newGradientAccumulation === 'number' ? data.newGradientAccumulation : null,
        time,
      })
    } else if (type === 'log' && (data.level === 'info' || data.level === 'warning' || data.level === 'error')) {
      // A resumed trainer says its start-up warnings again: each is listed once, where it first came.
      const message = String(data.message ?? '')
      const said = `${data.level}\n${message}`
      if (!seen.has(said)) report.notices.push({ level: data.level, message, time })
      seen.add(said)
    }
  }
  report.notices = report.notices.slice(-noticeLimit)
  report.evals = [...evals.entries()].sort(([a], [b]) => a - b).map(([step, loss]) => ({ step, loss }))
  return jobReportSchema.parse(report)
}
