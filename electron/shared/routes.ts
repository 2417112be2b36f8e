/**
 * Every route, declared once with its input and output schema. Adding a route
 * here makes the host's handler map incomplete until it is handled, and
 * needs no change in the preload or either transport.
 */
import { z } from 'zod'
import { checkpointSchema, jobSchema, metricPointSchema, newJobInputSchema, presetSchema, queueStateSchema } from './jobs'
import {
  datasetDeleteInputSchema,
  datasetEntrySchema,
  datasetIdSchema,
  datasetImportInputSchema,
  datasetImportResultSchema,
  datasetPreviewInputSchema,
  datasetPreviewSchema,
} from './datasets'
import { doctorCheckIds, doctorReportSchema } from './doctor'
import { exportPlanSchema, exportRequestSchema, exportResultSchema, exportSourceSchema } from './exports'
import { jobReportSchema } from './report'
import { setupProgressSchema, systemInfoSchema } from './system'

const jobId = z.object({ jobId: z.string().min(1) })
const ok = z.object({ ok: z.literal(true) })

export const routes = {
  /** Settings keyed as config.json, plus the model, dataset, preset and checkpoint to start from (jobs.ts). */
  'jobs.create': { input: newJobInputSchema, output: jobSchema },
  'jobs.list': { input: z.object({}), output: z.array(jobSchema) },
  'jobs.get': { input: jobId, output: jobSchema },
  'jobs.metrics': { input: jobId, output: z.array(metricPointSchema) },
  /** The tail of the job's terminal.log, so a reload shows what was printed. */
  'jobs.terminal': { input: jobId, output: z.object({ text: z.string() }) },
  /** What the trainer said beyond the loss: dataset, memory estimate, OOM retries, warnings, evals, MFU. */
  'jobs.report': { input: jobId, output: jobReportSchema },
  'jobs.pause': { input: jobId, output: jobSchema },
  'jobs.resume': { input: jobId, output: jobSchema },
  'jobs.cancel': { input: jobId, output: jobSchema },
  'jobs.checkpoint': { input: jobId.extend({ name: z.string().min(1).max(80) }), output: ok },
  'jobs.checkpoints': { input: jobId, output: z.array(checkpointSchema) },
  'jobs.delete_checkpoint': { input: jobId.extend({ name: z.string().min(1) }), output: ok },
  /** Deletes a job that is not training: its files, metrics and checkpoints. */
  'jobs.delete': { input: jobId, output: ok },
  /** Bytes each job's folder takes on disk, by job id. */
  'jobs.disk': { input: z.object({}), output: z.record(z.string(), z.int().min(0)) },
  'queue.move': { input: jobId.extend({ position: z.int().min(1) }), output: z.array(jobSchema) },
  'queue.get': { input: z.object({}), output: queueStateSchema },
  /** Stops or starts taking jobs from the queue, and sets how many run at once. */
  'queue.set': { input: queueStateSchema.partial(), output: queueStateSchema },
  'presets.list': { input: z.object({}), output: z.array(presetSchema) },
  /** Reads a dataset with the trainer's loader: detected format, first rows, bad rows. */
  'datasets.preview': { input: datasetPreviewInputSchema, output: datasetPreviewSchema },
  /** The dataset library, newest first, each with the jobs that trained on it. */
  'datasets.list': { input: z.object({}), output: z.array(datasetEntrySchema) },
  'datasets.get': { input: datasetIdSchema, output: datasetEntrySchema },
  /** Copies a file or save_to_disk folder into the library (hashed, checked with the trainer's loader). */
  'datasets.import': { input: datasetImportInputSchema, output: datasetImportResultSchema },
  'datasets.rename': { input: datasetIdSchema.extend({ name: z.string().min(1).max(200) }), output: datasetEntrySchema },
  /** Reads the dataset again with the trainer's loader and stores the new counts. */
  'datasets.recheck': { input: datasetIdSchema, output: datasetEntrySchema },
  /** A dataset jobs trained on needs confirm, and keeps its file for them. */
  'datasets.delete': { input: datasetDeleteInputSchema, output: ok },
  /** The compatibility report and default destination, before an export. */
  'exports.plan': { input: exportSourceSchema, output: exportPlanSchema },
  /** Writes and verifies the zip; answers when it is whole (progress comes as export.progress). */
  'exports.start': { input: exportRequestSchema, output: exportResultSchema },
  /** Stops the job's running export; nothing of it is left on disk. */
  'exports.cancel': { input: jobId, output: ok },
  'system.info': { input: z.object({}), output: systemInfoSchema },
  'python.setup': { input: z.object({}), output: setupProgressSchema },
  /** Examines the Python environment, torch against the GPU and driver, disk space, and runs a CUDA smoke test. */
  'system.doctor': { input: z.object({}), output: doctorReportSchema },
  /** Fixes what one doctor check found (reinstalls only that); progress streams as python.setup events. */
  'system.repair': { input: z.object({ check: z.enum(doctorCheckIds) }), output: setupProgressSchema },
} as const

export type Routes = typeof routes
export type RouteName = keyof Routes
export type RouteInput<R extends RouteName> = z.input<Routes[R]['input']>
export type RouteOutput<R extends RouteName> = z.output<Routes[R]['output']>
export const routeNames = Object.keys(routes) as RouteName[]

/** True for a string naming a declared route. */
export function isRouteName(value: unknown): value is RouteName {
  return typeof value === 'string' && Object.hasOwn(routes, value)
}
