/** Events the host pushes to every connected renderer, declared once. */
import { z } from 'zod'
import { chatDoneSchema, chatStatusSchema, chatTokenSchema } from './chat'
import { previewProgressSchema } from './datasets'
import { evaluationProgressSchema } from './evaluation'
import { exportProgressSchema } from './exports'
import { jobSchema, metricPointSchema, queueStateSchema } from './jobs'
import { jobReportSchema } from './report'
import { downloadProgressSchema } from './models'
import { gpuSampleSchema, setupProgressSchema } from './system'

export const events = {
  'job.updated': jobSchema,
  /** A job and its files were deleted (by any window or the command line). */
  'job.deleted': z.object({ jobId: z.string() }),
  'job.metrics': z.object({ jobId: z.string(), points: z.array(metricPointSchema) }),
  'job.terminal': z.object({ jobId: z.string(), data: z.string() }),
  /** The job's report changed: dataset read, memory estimated, an out-of-memory retry, a warning, an eval. */
  'job.report': jobReportSchema,
  /** The queue was stopped, started or given another concurrency (by any window). */
  'queue.updated': queueStateSchema,
  /** A job's evaluation (base against tuned) moved on: rows done of all. */
  'job.evaluation_progress': evaluationProgressSchema,
  /** An export moved on: phase, bytes written into the zip. */
  'export.progress': exportProgressSchema,
  /** A piece of an answer, as the model produced it. */
  'chat.token': chatTokenSchema,
  /** An answer ended (end of text, length, stop text, Stop, or the process died). */
  'chat.done': chatDoneSchema,
  /** The chat process loaded, unloaded (idle, or training needs the GPU), or died. */
  'chat.status': chatStatusSchema,
  /** A dataset preview given a requestId read further into its file. */
  'datasets.preview_progress': previewProgressSchema,
  /** A model download moved on: bytes, speed, time left, or its end. */
  'models.progress': downloadProgressSchema,
  'gpu.sample': gpuSampleSchema,
  'python.setup': setupProgressSchema,
} as const

export type Events = typeof events
export type EventName = keyof Events
export type EventPayload<E extends EventName> = z.output<Events[E]>

/** True for a string naming a declared event. */
export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && Object.hasOwn(events, value)
}
