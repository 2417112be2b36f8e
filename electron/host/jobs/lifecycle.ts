/**
 * What happens to a job on each event, read in one place: a pure reducer from
 * the job's record and one event to the change it makes (the fields to write,
 * its status among them, what else to store, and what every window is told).
 * An event is a line of the trainer's events.jsonl or something the host or
 * the user did (the queue launched it, its process exited, the user paused
 * it). electron/shared/jobStates.ts says which status may follow which; this
 * file says which one does. ingest.ts, run.ts, recovery.ts, queue.ts and
 * service.ts apply these changes and set no status themselves.
 */
import { isDeepStrictEqual } from 'node:util'
import type { JobConfig } from '@shared/config'
import { jobSchema, liveStatuses, type Checkpoint, type Job, type MetricPoint } from '@shared/jobs'
import { canDo } from '@shared/jobStates'
import type { TrainerEvent } from '@shared/protocol'
import type { JobRecord } from '../store'
import type { NoteType } from '../store/notes'
import type { TrainerExit } from '../trainer/process'

/** The error a failed job carries. */
type JobError = NonNullable<Job['error']>

/** Why the host itself is stopping the process, which decides the state when the trainer reports none. */
export type StopReason = 'cancel' | 'watchdog' | 'shutdown'

/** What the host and the user do to a job; the trainer's own events are TrainerEvent. */
export type HostEvent =
  /** The queue takes the job: its trainer is being started. */
  | { type: 'launch' }
  /** No trainer could be started (no interpreter, spawn failed). */
  | { type: 'launchFailed'; message: string }
  /** The host stopped before the trainer was spawned: the job goes back to the front of the queue. */
  | { type: 'withdraw' }
  /** The user, or the host shutting down, asks the trainer to save a pause checkpoint and exit. */
  | { type: 'pauseRequest' }
  /** The user resumes the job from `step` with `config` (its resumeFrom set). */
  | { type: 'resumeRequest'; config: JobConfig; step: number }
  /** The user cancels a job that has no trainer running. */
  | { type: 'cancelRequest' }
  /** The trainer's process is gone; its events are all ingested by now. */
  | {
      type: 'exit'
      exit: TrainerExit
      /** Why the host stopped it, if it did. */
      stopReason: StopReason | null
      /** True when the trainer wrote a final event (completed, paused, cancelled, failed). */
      reportedFinal: boolean
      watchdogSeconds: number
      /** The end of the terminal, for a failure the trainer did not explain. */
      terminalTail: string | null
    }
  /** No process is left and every event is ingested (crash recovery, an imported run). */
  | { type: 'lost' }

export type JobEvent = TrainerEvent | HostEvent

/** Where a completed event's adapter should be, and whether its file is there (the caller looks; the reducer stays pure). */
export interface AdapterCheck {
  folder: string
  file: string
  present: boolean
}

/** What the host knows beside the event. */
export interface Circumstances {
  /** Now, in ms since the epoch. */
  now: number
  /** The user asked to cancel while the trainer ran: any end but completed reads as cancelled. */
  cancelling?: boolean
  /** Required for a completed event. */
  adapter?: AdapterCheck
}

/** The renderer events a change makes due. */
export type Broadcast = 'job.updated' | 'job.metrics' | 'job.report'

export interface JobChange {
  /** The record's fields to write; empty when the event changes nothing on the job. */
  fields: Partial<JobRecord>
  /** A step to store in the metrics table. */
  metric?: MetricPoint
  /** A checkpoint to store in the checkpoints table. */
  checkpoint?: Checkpoint
  /** The event itself when the job report shows it (stored as a note). */
  note?: Extract<TrainerEvent, { type: NoteType }>
  broadcast: Broadcast[]
}

/** Seconds (the protocol's time) to the ms every host time uses. */
const toMs = (seconds: number): number => Math.round(seconds * 1000)

const publicFields = new Set(Object.keys(jobSchema.shape))

/** The change to `job` that `event` makes. */
export function reduce(job: JobRecord, event: JobEvent, circumstances: Circumstances): JobChange {
  const { fields, ...stored } = changeFor(job, event, circumstances)
  const broadcast: Broadcast[] = []
  const seen = Object.entries(fields).some(
    ([field, value]) => publicFields.has(field) && !isDeepStrictEqual(job[field as keyof JobRecord], value),
  )
  if (seen) broadcast.push('job.updated')
  if (stored.metric !== undefined) broadcast.push('job.metrics')
  if (stored.note !== undefined) broadcast.push('job.report')
  return { fields, ...stored, broadcast }
}

type Effect = Omit<JobChange, 'broadcast'>

function changeFor(job: JobRecord, event: JobEvent, { now, cancelling = false, adapter }: Circumstances): Effect {
  const live = liveStatuses.includes(job.status)
  // A final event moves only a live job: once the host has ended it (cancelled, failed by the
  // watchdog) a late line cannot reopen it. A job being cancelled ends cancelled unless it completed.
  const ending = (outcome: Partial<JobRecord>): Effect => {
    if (!live) return { fields: {} }
    if (cancelling && outcome.status !== 'completed') {
      return { fields: { status: 'cancelled', step: outcome.step ?? job.step, error: null, finishedAt: outcome.finishedAt ?? now } }
    }
    return { fields: outcome }
  }
  const running = job.status === 'starting' ? ({ status: 'running' } as const) : {}
  switch (event.type) {
    case 'started':
      return { fields: { ...running, totalSteps: event.totalSteps, step: event.step } }
    case 'step': {
      const { step, loss, lr, gradNorm, tokens, epoch, tokensPerSecond } = event
      const metric: MetricPoint = {
        step,
        loss,
        lr,
        gradNorm,
        tokens,
        epoch,
        tokensPerSecond,
        mfu: event.mfu ?? null,
        time: toMs(event.time),
      }
      return { fields: { ...running, step, totalSteps: event.totalSteps, loss, tokensPerSecond }, metric }
    }
    case 'checkpoint': {
      const { name, kind, step, loss, bytes } = event
      return { fields: {}, checkpoint: { name, kind, step, loss, time: toMs(event.time), bytes } }
    }
    case 'completed':
      return ending(completion(event.step, toMs(event.time), adapter))
    case 'paused':
      return ending({ status: 'paused', step: event.step, pausedCheckpoint: event.checkpoint })
    case 'cancelled':
      return live ? { fields: { status: 'cancelled', step: event.step, finishedAt: toMs(event.time) } } : { fields: {} }
    case 'failed':
      return ending({
        status: 'failed',
        error: { message: event.error, traceback: event.traceback, field: event.field ?? null },
        finishedAt: toMs(event.time),
      })
    case 'dataset':
    case 'memory':
    case 'oom':
    case 'eval':
      return { fields: {}, note: event }
    case 'log':
      // Debug lines stay in the terminal only.
      return event.level === 'debug' ? { fields: {} } : { fields: {}, note: event }
    case 'heartbeat':
      // It only shows the trainer is alive.
      return { fields: {} }
    case 'launch':
      if (job.status !== 'queued') return { fields: {} }
      return { fields: { status: 'starting', queuePosition: null, startedAt: job.startedAt ?? now, error: null, finishedAt: null } }
    case 'launchFailed':
      // A job cancelled while its trainer was being prepared stays cancelled.
      if (job.status !== 'starting') return { fields: {} }
      return { fields: { status: 'failed', finishedAt: now, error: { message: event.message, traceback: null, field: null } } }
    case 'withdraw':
      return job.status === 'starting' ? { fields: { status: 'queued' } } : { fields: {} }
    // A request the table does not allow in the job's state changes nothing; the routes refuse it first, naming both states.
    case 'pauseRequest':
      return canDo('pause', job.status) ? { fields: { status: 'pausing' } } : { fields: {} }
    case 'resumeRequest':
      if (!canDo('resume', job.status)) return { fields: {} }
      return { fields: { status: 'queued', config: event.config, step: event.step, error: null, finishedAt: null, adapterPath: null } }
    case 'cancelRequest':
      if (!canDo('cancel', job.status)) return { fields: {} }
      return { fields: { status: 'cancelled', finishedAt: now, queuePosition: null } }
    case 'exit':
      return { fields: { pid: null, pidStartTime: null, ...afterExit(job, event, now) } }
    case 'lost':
      return { fields: { pid: null, pidStartTime: null, ...(live ? { status: 'interrupted' } : {}) } }
    default:
      // Both sides ignore event types they do not know (the protocol's rule).
      return { fields: {} }
  }
}

/**
 * A completed event makes the job completed only when the adapter is on
 * disk; otherwise the job failed, and the message says where it looked.
 */
function completion(step: number, finishedAt: number, adapter: AdapterCheck | undefined): Partial<JobRecord> {
  if (adapter === undefined) throw new Error('a completed event needs the adapter check (Circumstances.adapter)')
  if (adapter.present) return { status: 'completed', step, adapterPath: adapter.folder, finishedAt, error: null }
  const error: JobError = {
    message: `the trainer reported completed but the adapter is missing at ${adapter.file}`,
    traceback: null,
    field: null,
  }
  return { status: 'failed', step, error, finishedAt }
}

/** The state a job is left in once its trainer's process is gone. */
function afterExit(job: JobRecord, event: Extract<HostEvent, { type: 'exit' }>, now: number): Partial<JobRecord> {
  // The user asked to cancel after the trainer had paused: the pause is dropped. A job that
  // completed or failed before the request keeps its result (the table has no way back).
  if (event.reportedFinal && event.stopReason === 'cancel' && job.status === 'paused')
    return { status: 'cancelled', finishedAt: now, error: null }
  if (!liveStatuses.includes(job.status)) return {}
  // The trainer exited without a final event: why the host stopped it decides.
  switch (event.stopReason) {
    case 'cancel':
      return { status: 'cancelled', finishedAt: now }
    case 'shutdown':
      return { status: 'interrupted' }
    case 'watchdog': {
      const message = `stopped responding: no event or heartbeat for ${event.watchdogSeconds} s`
      return { status: 'failed', error: { message, traceback: event.terminalTail, field: null }, finishedAt: now }
    }
    default: {
      const code = event.exit.signal !== null ? `signal ${event.exit.signal}` : `code ${event.exit.exitCode}`
      const message = `the trainer exited with ${code} without reporting a result`
      return { status: 'failed', error: { message, traceback: event.terminalTail, field: null }, finishedAt: now }
    }
  }
}
