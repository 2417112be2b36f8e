/** The host's SQLite store: one database, a repository per table. */
import { openDatabase, type Db } from './database'
import { CheckpointsRepository } from './checkpoints'
import { IngestedEventsRepository } from './events'
import { JobsRepository } from './jobs'
import { MetricsRepository } from './metrics'
import { NotesRepository } from './notes'
import { SettingsRepository } from './settings'

export { JobTransitionError, newJobRecord, toJob, type JobRecord, type NewJob } from './jobs'
export { databaseFileName, type Db } from './database'
export { migrations } from './migrations'

/** The open database and its repositories. */
export class Store {
  readonly jobs: JobsRepository
  readonly metrics: MetricsRepository
  readonly checkpoints: CheckpointsRepository
  readonly events: IngestedEventsRepository
  readonly settings: SettingsRepository
  readonly notes: NotesRepository

  private constructor(readonly db: Db) {
    this.jobs = new JobsRepository(db)
    this.metrics = new MetricsRepository(db)
    this.checkpoints = new CheckpointsRepository(db)
    this.events = new IngestedEventsRepository(db)
    this.settings = new SettingsRepository(db)
    this.notes = new NotesRepository(db)
  }

  /** Opens <dataDir>/tunedeck.db, migrating it to the newest schema. */
  static open(dataDir: string): Store {
    return new Store(openDatabase(dataDir))
  }

  /** Runs `work` in one transaction: all of it is stored or none. */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work)()
  }

  close(): void {
    if (this.db.open) this.db.close()
  }
}
