/**
 * Applies trainer events to the store. Each event is guarded by its (job,
 * seq) row, so ingesting the same file twice, or again after a restart,
 * changes nothing. Events are the only source of metrics and final states;
 * what each one does to the job is lifecycle.ts's reduce, applied here.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { MetricPoint } from '@shared/jobs'
import { finalEventTypes, type TrainerEvent } from '@shared/protocol'
import type { JobRecord, Store } from '../store'
import { reduce, type AdapterCheck, type Broadcast } from './lifecycle'

type FinalEventType = (typeof finalEventTypes)[number]

/** What one batch changed, for the events the service emits. */
export interface IngestResult {
  record: JobRecord
  /** Step points stored by this batch, in order. */
  points: MetricPoint[]
  /** The renderer events the batch made due (job.updated, job.metrics, job.report). */
  broadcast: Set<Broadcast>
  /** The last final event in the batch (new or not), which the exit code must agree with. */
  final: TrainerEvent | null
}

/** The adapter file a completed job must have on disk. */
export const adapterFileName = 'adapter_model.safetensors'

const isFinal = (type: string): type is FinalEventType => (finalEventTypes as readonly string[]).includes(type)

/** How the host is treating the job while it ingests. */
export interface IngestOptions {
  /**
   * The user asked to cancel the job: a final event other than completed
   * (paused, failed) ends it cancelled, whatever else the trainer did on
   * its way out.
   */
  cancelling?: boolean
}

/** Where a completed event's adapter folder points, relative to the job folder, and whether its file is there. */
function checkAdapter(jobDir: string, adapterPath: string): AdapterCheck {
  const folder = path.resolve(jobDir, adapterPath)
  const file = path.join(folder, adapterFileName)
  return { folder, file, present: fs.existsSync(file) }
}

/** Applies `events` read from jobs/<id>/events.jsonl up to `offset`, in one transaction. */
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
    let current: JobRecord = before
    const patch: Partial<JobRecord> = {}
    const points: MetricPoint[] = []
    const broadcast = new Set<Broadcast>()
    let final: TrainerEvent | null = null
    for (const event of events) {
      if (isFinal(event.type)) final = event
      if (!store.events.claim(jobId, event.seq)) continue
      const adapter = event.type === 'completed' ? checkAdapter(jobDir, event.adapterPath) : undefined
      const change = reduce(current, event, { now: Date.now(), cancelling: options.cancelling, adapter })
      Object.assign(patch, change.fields)
      current = { ...current, ...change.fields }
      if (change.metric !== undefined) {
        store.metrics.put(jobId, change.metric)
        points.push(change.metric)
      }
      if (change.checkpoint !== undefined) store.checkpoints.put(jobId, change.checkpoint)
      if (change.note !== undefined) store.notes.put(jobId, event.seq, change.note.type, change.note)
      for (const name of change.broadcast) broadcast.add(name)
    }
    const record = store.jobs.update(jobId, { ...patch, eventsOffset: offset, lastEventTime: Date.now() })
    return { record, points, broadcast, final }
  })
}
