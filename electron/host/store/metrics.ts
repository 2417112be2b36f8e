/** The metrics table: one row per logged optimizer step of a job. */
import type { MetricPoint } from '@shared/jobs'
import { sampleIndexes } from './metricSample'
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
    const sql =
      'INSERT OR REPLACE INTO metrics (job_id, step, loss, lr, grad_norm, tokens, epoch, tokens_per_second, mfu, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
    prepared(this.db, sql).run(
      jobId,
      point.step,
      point.loss,
      point.lr,
      point.gradNorm,
      point.tokens,
      point.epoch,
      point.tokensPerSecond,
      point.mfu,
      point.time,
    )
  }

  /** Every point of a job in step order. */
  list(jobId: string): MetricPoint[] {
    return (prepared(this.db, 'SELECT * FROM metrics WHERE job_id = ? ORDER BY step').all(jobId) as MetricRow[]).map(toPoint)
  }

  /**
   * About `maxPoints` of a job's points, as sampleMetrics chooses them (the ends, each stretch's
   * lowest and highest loss). Only the steps and losses of every point are read, as plain numbers,
   * then the whole rows of those kept: a page opening a job of 100,000 steps waited for all of
   * them to become objects first (about 250 ms of CPU against 25).
   */
  sampled(jobId: string, maxPoints: number): MetricPoint[] {
    const losses = prepared(this.db, 'SELECT loss FROM metrics WHERE job_id = ? ORDER BY step').pluck(true).all(jobId) as number[]
    if (losses.length <= maxPoints) return this.list(jobId)
    const steps = prepared(this.db, 'SELECT step FROM metrics WHERE job_id = ? ORDER BY step').pluck(true).all(jobId) as number[]
    const kept = JSON.stringify(sampleIndexes(losses, maxPoints).map((index) => steps[index]))
    const sql = 'SELECT * FROM metrics WHERE job_id = ? AND step IN (SELECT value FROM json_each(?)) ORDER BY step'
    return (prepared(this.db, sql).all(jobId, kept) as MetricRow[]).map(toPoint)
  }

  /** Drops points after `step`, which a resume from an earlier checkpoint will train again. */
  deleteAfter(jobId: string, step: number): void {
    prepared(this.db, 'DELETE FROM metrics WHERE job_id = ? AND step > ?').run(jobId, step)
  }
}

function toPoint(row: MetricRow): MetricPoint {
  return {
    step: row.step,
    loss: row.loss,
    lr: row.lr,
    gradNorm: row.grad_norm,
    tokens: row.tokens,
    epoch: row.epoch,
    tokensPerSecond: row.tokens_per_second,
    mfu: row.mfu,
    time: row.time,
  }
}
