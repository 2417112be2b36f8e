/** The jobs table: one row per job, read as the contract's Job. */
import type { JobConfig } from '@shared/config'
import type { ErrorCode } from '@shared/errors'
import type { Job, JobStatus } from '@shared/jobs'
import { transitionProblem } from '@shared/jobStates'
import { prepared, type Db } from './database'

/** Everything the host keeps about a job, including supervision details the renderer never sees. */
export interface JobRecord extends Job {
  pid: number | null
  /** The process's start time as the OS reports it, to tell it from a later process with the same pid. */
  pidStartTime: string | null
  /** When events.jsonl last gave a whole line, in ms since the epoch. */
  lastEventTime: number | null
  /** Byte offset in events.jsonl up to which every whole line has been ingested. */
  eventsOffset: number
  /** The checkpoint the last paused event named; resume prefers it. */
  pausedCheckpoint: string | null
}

interface JobRow {
  id: string
  name: string
  status: string
  config: string
  created_at: number
  started_at: number | null
  finished_at: number | null
  step: number
  total_steps: number
  loss: number | null
  tokens_per_second: number | null
  error: string | null
  adapter_path: string | null
  queue_position: number | null
  pid: number | null
  pid_start_time: string | null
  last_event_time: number | null
  events_offset: number
  paused_checkpoint: string | null
}

/** Column for each updatable field; JSON fields are encoded on the way in. */
const columns: Record<keyof Omit<JobRecord, 'id'>, keyof JobRow> = {
  name: 'name',
  status: 'status',
  config: 'config',
  createdAt: 'created_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  step: 'step',
  totalSteps: 'total_steps',
  loss: 'loss',
  tokensPerSecond: 'tokens_per_second',
  error: 'error',
  adapterPath: 'adapter_path',
  queuePosition: 'queue_position',
  pid: 'pid',
  pidStartTime: 'pid_start_time',
  lastEventTime: 'last_event_time',
  eventsOffset: 'events_offset',
  pausedCheckpoint: 'paused_checkpoint',
}

const jsonFields = new Set(['config', 'error'])

function fromRow(row: JobRow): JobRecord {
  return {
    id: row.id,
    name: row.name,
    status: row.status as JobStatus,
    config: JSON.parse(row.config) as JobConfig,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    step: row.step,
    totalSteps: row.total_steps,
    loss: row.loss,
    tokensPerSecond: row.tokens_per_second,
    error: row.error === null ? null : (JSON.parse(row.error) as Job['error']),
    adapterPath: row.adapter_path,
    queuePosition: row.queue_position,
    pid: row.pid,
    pidStartTime: row.pid_start_time,
    lastEventTime: row.last_event_time,
    eventsOffset: row.events_offset,
    pausedCheckpoint: row.paused_checkpoint,
  }
}

/** The public part of a record, as routes and events carry it. */
export function toJob(record: JobRecord): Job {
  return {
    id: record.id,
    name: record.name,
    status: record.status,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    config: record.config,
    step: record.step,
    totalSteps: record.totalSteps,
    loss: record.loss,
    tokensPerSecond: record.tokensPerSecond,
    error: record.error,
    adapterPath: record.adapterPath,
    queuePosition: record.queuePosition,
  }
}

/**
 * A status change the table in electron/shared/jobStates.ts does not allow.
 * It has the AppError shape (code conflict), so a route that runs into it
 * answers with this message.
 */
export class JobTransitionError extends Error {
  readonly code: ErrorCode = 'conflict'
  readonly data: { jobId: string; from: JobStatus; to: JobStatus }

  constructor(record: JobRecord, to: JobStatus, problem: string) {
    super(`Job "${record.name}" (${record.id}) ${problem}`)
    this.name = 'JobTransitionError'
    this.data = { jobId: record.id, from: record.status, to }
  }
}

/** Reads and writes job rows. */
export class JobsRepository {
  constructor(private readonly db: Db) {}

  /** Inserts a new job; `record` must carry every field. */
  insert(record: JobRecord): void {
    const names = ['id', ...Object.values(columns)]
    const values = [record.id, ...Object.keys(columns).map((field) => this.encode(field, record[field as keyof JobRecord]))]
    prepared(this.db, `INSERT INTO jobs (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(...values)
  }

  get(id: string): JobRecord | undefined {
    const row = prepared(this.db, 'SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined
    return row === undefined ? undefined : fromRow(row)
  }

  /** Every job, newest first. */
  list(): JobRecord[] {
    return (prepared(this.db, 'SELECT * FROM jobs ORDER BY created_at DESC, id DESC').all() as JobRow[]).map(fromRow)
  }

  withStatus(statuses: readonly JobStatus[]): JobRecord[] {
    const marks = statuses.map(() => '?').join(', ')
    const rows = prepared(this.db, `SELECT * FROM jobs WHERE status IN (${marks}) ORDER BY id`).all(...statuses) as JobRow[]
    return rows.map(fromRow)
  }

  /** Queued jobs in the order they will run. */
  queued(): JobRecord[] {
    const rows = prepared(this.db, "SELECT * FROM jobs WHERE status = 'queued' ORDER BY queue_position IS NULL, queue_position, id").all() as JobRow[]
    return rows.map(fromRow)
  }

  /**
   * Changes the given fields and returns the whole updated record. Every
   * status change of a job goes through here: one the table of job states
   * does not allow throws a JobTransitionError and changes nothing.
   */
  update(id: string, patch: Partial<Omit<JobRecord, 'id'>>): JobRecord {
    if (patch.status !== undefined) {
      const current = this.get(id)
      if (current === undefined) throw new Error(`cannot update job ${id}: it is not in the database`)
      const problem = transitionProblem(current.status, patch.status)
      if (problem !== undefined) throw new JobTransitionError(current, patch.status, problem)
    }
    const fields = Object.keys(patch) as (keyof typeof columns)[]
    if (fields.length > 0) {
      const assignments = fields.map((field) => `${columns[field]} = ?`).join(', ')
      const values = fields.map((field) => this.encode(field, patch[field]))
      prepared(this.db, `UPDATE jobs SET ${assignments} WHERE id = ?`).run(...values, id)
    }
    const updated = this.get(id)
    if (updated === undefined) throw new Error(`job ${id} vanished from the database during an update`)
    return updated
  }

  /** Removes the job's row; its metrics, events, checkpoints and notes go with it (foreign keys cascade). */
  delete(id: string): void {
    prepared(this.db, 'DELETE FROM jobs WHERE id = ?').run(id)
  }

  /** Gives queued jobs positions 1..n in the order of `orderedIds`; others lose theirs. */
  renumberQueue(orderedIds: readonly string[]): void {
    this.db.transaction(() => {
      prepared(this.db, "UPDATE jobs SET queue_position = NULL WHERE status != 'queued'").run()
      const set = prepared(this.db, 'UPDATE jobs SET queue_position = ? WHERE id = ?')
      orderedIds.forEach((id, index) => set.run(index + 1, id))
    })()
  }

  private encode(field: string, value: unknown): unknown {
    if (jsonFields.has(field)) return value === null || value === undefined ? null : JSON.stringify(value)
    if (typeof value === 'boolean') return value ? 1 : 0
    return value ?? null
  }
}
