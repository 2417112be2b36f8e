/** The ingested_events table: which event seqs of a job have been applied, so none applies twice. */
import { prepared, type Db } from './database'

export class IngestedEventsRepository {
  constructor(private readonly db: Db) {}

  /** Records `seq` for the job; false when it was already there, meaning the event was applied before. */
  claim(jobId: string, seq: number): boolean {
    return prepared(this.db, 'INSERT OR IGNORE INTO ingested_events (job_id, seq) VALUES (?, ?)').run(jobId, seq).changes === 1
  }

  count(jobId: string): number {
    return (prepared(this.db, 'SELECT COUNT(*) AS n FROM ingested_events WHERE job_id = ?').get(jobId) as { n: number }).n
  }
}
