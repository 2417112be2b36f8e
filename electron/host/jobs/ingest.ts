/**
 * Applies trainer events to the store. Each event is guarded by its (job,
 * seq) row, so ingesting the same file twice, or again after a restart,
 * changes nothing. Events are the only source of metrics and final states.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Job, MetricPoint } from '@shared/jobs'
import { liveStatuses } from '@shared/jobs'
import { finalEventTypes, type TrainerEvent } from '@shared/protocol'
import type { JobRecord, Store } from '../store'

/** The error a failed job carries. */
export type JobError = NonNullable<Job['error']>

export type FinalEventType = (typeof finalEventTypes)[number]

/** What one batch changed, for the events the service emits. */
export interface IngestResult {
  record: JobRecord
  /** Step points stored by this batch, in order. */
  points: MetricPoint[]
  /** True when status, step or totals changed (a job.updated is due). */
  changed: boolean
  /** The last final event in the batch (new or not), which the exit code must agree with. */
  final: TrainerEvent | null
  /** True when an event the job report shows was stored (a job.report is due). */
  reportChanged: boolean
}

/** The adapter file a completed job must have on disk. */
export const adapterFileName = 'adapter_model.safetensors'

const isFinal = (type: string): type is FinalEventType => (finalEventTypes as readonly string[]).includes(type)

/** Seconds (the protocol's time) to the ms every host time uses. */
const toMs = (seconds: number): number => Math.round(seconds * 1000)

/** How the host is treating the job while it ingests. */
export interface IngestOptions {
  /**
   * The user asked to cancel the job: a final event other than completed
   * (paused, failed) ends it cancelled, whatever else the trainer did on
   * its way out.
   */
  cancelling?: boolean
}

/**
 * Applies `events` read from jobs/<id>/events.jsonl up to `offset`, in one
 * transaction. Final events only move a job that is still live: once the
 * host has ended a job (cancelled, failed by the watchdog) a late line
 * cannot reopen it.
 */
export function ingestEvents(
  store: Store,
  jobId: string,
  jobDir: string,
  events: readonly TrainerEvent[],
  offset: number,
  options: IngestOptions = {},
): IngestResult {
  return store.transaction(() => {
    const before = store.jobs.get(jobId)
    if (before === undefined) throw new Error(`events for unknown job ${jobId}`)
    const patch: Partial<JobRecord> = {}
    const current = (): JobRecord => ({ ...before, ...patch })
    const points: MetricPoint[] = []
    // A job the user is cancelling ends cancelled unless the trainer completed it.
    const ending = (outcome: Partial<JobRecord>): Partial<JobRecord> =>
      options.cancelling && outcome.status !== 'completed'
        ? { status: 'cancelled', step: outcome.step ?? current().step, error: null, finishedAt: outcome.finishedAt ?? Date.now() }
        : outcome
    let final: TrainerEvent | null = null
    let reportChanged = false
    for (const event of events) {
      if (isFinal(event.type)) final = event
      if (!store.events.claim(jobId, event.seq)) continue
      const live = liveStatuses.includes(current().status)
      switch (event.type) {
        case 'started':
          if (current().status === 'starting') patch.status = 'running'
          patch.totalSteps = event.totalSteps
          patch.step = event.step
          break
        case 'step': {
          const point: MetricPoint = {
            step: event.step,
            loss: event.loss,
            lr: event.lr,
            gradNorm: event.gradNorm,
            tokens: event.tokens,
            epoch: event.epoch,
            tokensPerSecond: event.tokensPerSecond,
            mfu: event.mfu ?? null,
            time: toMs(event.time),
          }
          store.metrics.put(jobId, point)
          points.push(point)
          if (current().status === 'starting') patch.status = 'running'
          Object.assign(patch, { step: event.step, totalSteps: event.totalSteps, loss: event.loss, tokensPerSecond: event.tokensPerSecond })
          break
        }
        case 'checkpoint':
          store.checkpoints.put(jobId, {
            name: event.name,
            kind: event.kind,
            step: event.step,
            loss: event.loss,
            time: toMs(event.time),
            bytes: event.bytes,
          })
          break
        case 'completed':
          if (live) Object.assign(patch, ending(completion(jobDir, event.adapterPath, event.step, toMs(event.time))))
          break
        case 'paused':
          if (live) Object.assign(patch, ending({ status: 'paused', step: event.step, pausedCheckpoint: event.checkpoint }))
          break
        case 'cancelled':
          if (live) Object.assign(patch, { status: 'cancelled', step: event.step, finishedAt: toMs(event.time) })
          break
        case 'failed': {
          const error: JobError = { message: event.error, traceback: event.traceback, field: event.field ?? null }
          if (live) Object.assign(patch, ending({ status: 'failed', error, finishedAt: toMs(event.time) }))
          break
        }
        case 'dataset':
        case 'memory':
        case 'oom':
        case 'log':
        case 'eval':
          // What the job report shows; debug lines stay in the terminal only.
          if (event.type !== 'log' || event.level !== 'debug') {
            store.notes.put(jobId, event.seq, event.type, event)
            reportChanged = true
          }
          break
        default:
          // heartbeat: it only shows the trainer is alive.
          break
      }
    }
    const changed = (['status', 'step', 'totalSteps'] as const).some((key) => key in patch && patch[key] !== before[key])
    const record = store.jobs.update(jobId, { ...patch, eventsOffset: offset, lastEventTime: Date.now() })
    return { record, points, changed, final, reportChanged }
  })
}

/**
 * A completed event makes the job completed only when the adapter is on
 * disk; otherwise the job failed, and the message says where it looked.
 */
function completion(jobDir: string, adapterPath: string, step: number, time: number): Partial<JobRecord> {
  const folder = path.resolve(jobDir, adapterPath)
  const file = path.join(folder, adapterFileName)
  if (fs.existsSync(file)) return { status: 'completed', step, adapterPath: folder, finishedAt: time, error: null }
  const error: JobError = {
    message: `the trainer reported completed but the adapter is missing at ${file}`,
    traceback: null,
    field: null,
  }
  return { status: 'failed', step, error, finishedAt: time }
}
