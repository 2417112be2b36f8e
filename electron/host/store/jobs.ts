/**
 * The jobs table: one row per job, read as the contract's Job. The column
 * table below is the one description of the record: the row <-> record
 * conversions and a new record's defaults all come from it.
 */
import { jobSchema, type Job, type JobStatus } from '@shared/jobs'
import type { ErrorCode } from '@shared/errors'
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

/** How a column holds its field: as the value itself, or as JSON text (objects). */
interface Column {
  json?: true
  /** What a new job starts with; fields without one are given by whoever creates the job. */
  initial?: number | null
}

/**
 * Every field of the record and how its column holds it. The column is the
 * field's name in snake_case (createdAt -> created_at, see columnName); the
 * type makes a field missing here a compile error.
 */
const jobColumns: Record<keyof JobRecord, Column> = {
  id: {},
  name: {},
  status: {},
  config: { json: true },
  createdAt: {},
  startedAt: { initial: null },
  finishedAt: { initial: null },
  step: { initial: 0 },
  totalSteps: { initial: 0 },
  loss: { initial: null },
  tokensPerSecond: { initial: null },
  error: { json: true, initial: null },
  adapterPath: { initial: null },
  queuePosition: { initial: null },
  pid: { initial: null },
  pidStartTime: { initial: null },
  lastEventTime: { initial: null },
  eventsOffset: { initial: 0 },
  pausedCheckpoint: { initial: null },
}

type Field = keyof JobRecord
type Row = Record<string, unknown>

const fields = Object.keys(jobColumns) as Field[]
/** The fields the renderer sees: the contract's jobSchema decides, not this file. */
const publicFields = Object.keys(jobSchema.shape) as (keyof Job)[]

/** The naming conversion, done once: createdAt -> created_at. */
function columnName(field: Field): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)
}

const columnNames = new Map(fields.map((field) => [field, columnName(field)]))

function encode(field: Field, value: unknown): unknown {
  if (jobColumns[field].json) return value === null || value === undefined ? null : JSON.stringify(value)
  return value ?? null
}

function decode(field: Field, value: unknown): unknown {
  return jobColumns[field].json && typeof value === 'string' ? JSON.parse(value) : value
}

function fromRow(row: Row): JobRecord {
  return Object.fromEntries(fields.map((field) => [field, decode(field, row[columnNames.get(field) as string])])) as unknown as JobRecord
}

/** What a job is given when it is made; every other field starts at its column's initial value. */
export type NewJob = Pick<JobRecord, 'id' | 'name' | 'status' | 'config' | 'createdAt'> & Partial<JobRecord>

/** A whole record for a new job: `start` over the initial values of the column table. */
export function newJobRecord(start: NewJob): JobRecord {
  const initial = Object.fromEntries(
    fields.filter((field) => 'initial' in jobColumns[field]).map((field) => [field, jobColumns[field].initial]),
  )
  return { ...initial, ...start } as JobRecord
}

/** The public part of a record, as routes and events carry it. */
export function toJob(record: JobRecord): Job {
  return Object.fromEntries(publicFields.map((field) => [field, record[field]])) as Job
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
    const names = fields.map((field) => columnNames.get(field))
    const values = fields.map((field) => encode(field, record[field]))
    prepared(this.db, `INSERT INTO jobs (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(...values)
  }

  get(id: string): JobRecord | undefined {
    const row = prepared(this.db, 'SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined
    return row === undefined ? undefined : fromRow(row)
  }

  /** Every job, newest first. */
  list(): JobRecord[] {
    return (prepared(this.db, 'SELECT * FROM jobs ORDER BY created_at DESC, id DESC').all() as Row[]).map(fromRow)
  }

  withStatus(statuses: readonly JobStatus[]): JobRecord[] {
    const marks = statuses.map(() => '?').join(', ')
    const rows = prepared(this.db, `SELECT * FROM jobs WHERE status IN (${marks}) ORDER BY id`).all(...statuses) as Row[]
    return rows.map(fromRow)
  }

  /** Queued jobs in the order they will run. */
  queued(): JobRecord[] {
    const rows = prepared(
      this.db,
      "SELECT * FROM jobs WHERE status = 'queued' ORDER BY queue_position IS NULL, queue_position, id",
    ).all() as Row[]
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
    const changed = Object.keys(patch) as Field[]
    if (changed.length > 0) {
      const assignments = changed.map((field) => `${columnNames.get(field)} = ?`).join(', ')
      const values = changed.map((field) => encode(field, (patch as Partial<JobRecord>)[field]))
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
}
