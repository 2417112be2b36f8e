/** The metrics table: one row per logged optimizer step of a job. */
import type { MetricPoint } from '@shared/jobs'
import { prepared, type Db } from './database'

interface MetricRow {
  step: number
  loss: number
  lr: number
  grad_norm: number | null
  tokens: number
  epoch: number
  tokens_per_second: number
  mfu: number | null
  time: number
}

/** Reads and writes step metrics. */
export class MetricsRepository {
  constructor(private readonly db: Db) {}

  /** Stores a step; a step trained again after a resume replaces the earlier row. */
  put(jobId: string, point: MetricPoint): void {
    const sql = 'INSERT OR REPLACE INTO metrics (job_id, step, loss, lr, grad_norm, tokens, epoch, tokens_per_second, mfu, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
    prepared(this.db, sql).run(jobId, point.step, point.loss, point.lr, point.gradNorm, point.tokens, point.epoch, point.tokensPerSecond, point.mfu, point.time)
  }

  /** Every point of a job in step order. */
  list(jobId: string): MetricPoint[] {
    const rows = prepared(this.db, 'SELECT * FROM metrics WHERE job_id = ? ORDER BY step').all(jobId) as MetricRow[]
    return rows.map((row) => ({
      step: row.step,
      loss: row.loss,
      lr: row.lr,
      gradNorm: row.grad_norm,
      tokens: row.tokens,
      epoch: row.epoch,
      tokensPerSecond: row.tokens_per_second,
      mfu: row.mfu,
      time: row.time,
    }))
  }

  /** Drops points after `step`, which a resume from an earlier checkpoint will train again. */
  deleteAfter(jobId: string, step: number): void {
    prepared(this.db, 'DELETE FROM metrics WHERE job_id = ? AND step > ?').run(jobId, step)
  }
}
