/** The checkpoints table: what the trainer reported saving for each job. */
import type { Checkpoint } from '@shared/jobs'
import { prepared, type Db } from './database'

interface CheckpointRow {
  name: string
  kind: string
  step: number
  loss: number | null
  time: number
  bytes: number
}

/** Reads and writes checkpoint rows; the folders themselves live under jobs/<id>/checkpoints/. */
export class CheckpointsRepository {
  constructor(private readonly db: Db) {}

  /** Records a checkpoint; one saved again under the same name replaces the row. */
  put(jobId: string, checkpoint: Checkpoint): void {
    prepared(this.db, 'INSERT OR REPLACE INTO checkpoints (job_id, name, kind, step, loss, time, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      jobId,
      checkpoint.name,
      checkpoint.kind,
      checkpoint.step,
      checkpoint.loss,
      checkpoint.time,
      checkpoint.bytes,
    )
  }

  /** A job's checkpoints, oldest step first. */
  list(jobId: string): Checkpoint[] {
    const rows = prepared(this.db, 'SELECT * FROM checkpoints WHERE job_id = ? ORDER BY step, time').all(jobId) as CheckpointRow[]
    return rows.map((row) => ({
      name: row.name,
      kind: row.kind as Checkpoint['kind'],
      step: row.step,
      loss: row.loss,
      time: row.time,
      bytes: row.bytes,
    }))
  }

  delete(jobId: string, name: string): void {
    prepared(this.db, 'DELETE FROM checkpoints WHERE job_id = ? AND name = ?').run(jobId, name)
  }
}
