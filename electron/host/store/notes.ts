/**
 * The job_notes table: the trainer events a job report is built from
 * (dataset, memory, oom, log, eval), one row per event seq, stored as the
 * event's JSON. (Each step's MFU is a metric: store/metrics.ts.)
 */
import { prepared, type Db } from './database'

/** Event types kept as notes. */
export const noteTypes = ['dataset', 'memory', 'oom', 'log', 'eval'] as const
export type NoteType = (typeof noteTypes)[number]

export interface Note {
  seq: number
  type: NoteType
  data: Record<string, unknown>
}

export class NotesRepository {
  constructor(private readonly db: Db) {}

  /** Stores one event; the same seq again replaces it (ingest claims seqs, so this is rare). */
  put(jobId: string, seq: number, type: NoteType, data: Record<string, unknown>): void {
    prepared(this.db, 'INSERT OR REPLACE INTO job_notes (job_id, seq, type, data) VALUES (?, ?, ?, ?)').run(
      jobId,
      seq,
      type,
      JSON.stringify(data),
    )
  }

  /** Every note of a job, in event order. */
  list(jobId: string): Note[] {
    const rows = prepared(this.db, 'SELECT seq, type, data FROM job_notes WHERE job_id = ? ORDER BY seq').all(jobId) as Array<{
      seq: number
      type: NoteType
      data: string
    }>
    return rows.map((row) => ({ seq: row.seq, type: row.type, data: JSON.parse(row.data) as Record<string, unknown> }))
  }
}
