/**
 * Every route, declared once with its input and output schema. Adding a route
 * here makes the host's handler map incomplete until it is handled, and
 * needs no change in the preload or either transport.
 */
import { z } from 'zod'
import { appError, type AppError } from './errors'
import { jobSettingsSchema } from './config'
import { checkpointSchema, jobSchema, metricPointSchema, newJobInputSchema, presetSchema, queueStateSchema } from './jobs'
import {
  chatConversationSchema,
  chatSendInputSchema,
  chatSendOutputSchema,
  chatSourceSchema,
  chatStatusSchema,
  chatTurnSchema,
} from './chat'
import {
  datasetDeleteInputSchema,
  datasetEntrySchema,
  datasetIdSchema,
  datasetImportInputSchema,
  datasetImportResultSchema,
  datasetPreviewInputSchema,
  datasetPreviewSchema,
  datasetReadingSchema,
} from './datasets'
import { doctorCheckIds, doctorReportSchema } from './doctor'
import { evaluateRequestSchema, evaluationSchema } from './evaluation'
import {
  exportPlanSchema,
  exportRequestSchema,
  exportResultSchema,
  exportSourceSchema,
  hubPushRequestSchema,
  hubPushResultSchema,
} from './exports'
import { jobReportSchema } from './report'
import {
  adapterExportRequestSchema,
  adapterSourceSchema,
  combineRequestSchema,
  combineShapeSchema,
  importRequestSchema,
  libraryAdapterSchema,
} from './adapters'
import {
  datasetDownloadInputSchema,
  datasetDownloadSchema,
  downloadProgressSchema,
  hubIdSchema,
  modelDetailSchema,
  modelFitsSchema,
  modelLibrarySchema,
  tokenStatusSchema,
} from './models'
import { gpuHistorySchema } from './gpuHistory'
import { setupProgressSchema, systemInfoSchema } from './system'
import { typedName } from './names'

const jobId = z.object({ jobId: z.string().min(1) })
const ok = z.object({ ok: z.literal(true) })

export const routes = {
  /** Settings keyed as config.json, plus the model, dataset, preset and checkpoint to start from (jobs.ts). */
  'jobs.create': { input: newJobInputSchema, output: jobSchema },
  'jobs.list': { input: z.object({}), output: z.array(jobSchema) },
  'jobs.get': { input: jobId, output: jobSchema },
  /** Every logged step, or with maxPoints at most about that many, chosen so the loss curve looks the same (first, last, each stretch's lowest and highest). */
  'jobs.metrics': { input: jobId.extend({ maxPoints: z.int().min(16).max(1_000_000).optional() }), output: z.array(metricPointSchema) },
  /** The tail of the job's terminal.log, so a reload shows what was printed. */
  'jobs.terminal': { input: jobId, output: z.object({ text: z.string() }) },
  /** What the trainer said beyond the loss: dataset, memory estimate, OOM retries, warnings, evals, MFU. */
  'jobs.report': { input: jobId, output: jobReportSchema },
  /** Runs the base and the tuned model on the job's held-out rows; answers with the saved evaluation (progress as job.evaluation_progress). */
  'jobs.evaluate': { input: evaluateRequestSchema, output: evaluationSchema },
  /** The job's saved evaluation, or null. */
  'jobs.evaluation': { input: jobId, output: evaluationSchema.nullable() },
  /** Stops the job's evaluation; the saved one stays. */
  'jobs.evaluation_cancel': { input: jobId, output: ok },
  /** The GPU readings sampled while the job ran, bucketed so that peaks survive (gpu/history.ts). */
  'jobs.gpu_history': { input: jobId, output: gpuHistorySchema },
  'jobs.pause': { input: jobId, output: jobSchema },
  'jobs.resume': { input: jobId, output: jobSchema },
  'jobs.cancel': { input: jobId, output: jobSchema },
  'jobs.checkpoint': { input: jobId.extend({ name: z.string().min(1).max(80) }), output: ok },
  'jobs.checkpoints': { input: jobId, output: z.array(checkpointSchema) },
  /** Writes the job as a folder a cluster trains (torchrun, Slurm, SkyPilot launch files); returns the folder. */
  'jobs.bundle': {
    /** zip: also pack the folder as OUT.zip, for a browser to download (the zip's path comes back as `zip`). */
    input: jobId.extend({ out: z.string().min(1), zip: z.boolean().optional() }),
    output: z.object({ path: z.string(), zip: z.string().optional() }),
  },
  /** Brings back what a run of a bundle wrote (events, checkpoints, adapter) as a new job. */
  'jobs.import_run': { input: z.object({ path: z.string().min(1) }), output: jobSchema },
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
  /** The self-test's own settings (a layer under the preset's), so the form shows what a self-test job runs with. */
  'presets.selftest': { input: z.object({}), output: jobSettingsSchema },
  /** Reads a dataset with the trainer's loader: detected format, first rows, bad rows. */
  'datasets.preview': { input: datasetPreviewInputSchema, output: datasetPreviewSchema },
  /** Stops the preview started with this requestId (it then fails with "cancelled"); false when none runs. */
  'datasets.preview_cancel': { input: z.object({ requestId: z.string().min(1) }), output: z.object({ cancelled: z.boolean() }) },
  /** The dataset library, newest first, each with the jobs that trained on it. */
  'datasets.list': { input: z.object({}), output: z.array(datasetEntrySchema) },
  'datasets.get': { input: datasetIdSchema, output: datasetEntrySchema },
  /** Copies a file or save_to_disk folder into the library (hashed, checked with the trainer's loader). */
  'datasets.import': { input: datasetImportInputSchema, output: datasetImportResultSchema },
  'datasets.rename': { input: datasetIdSchema.extend({ name: typedName().min(1).max(200) }), output: datasetEntrySchema },
  /** Reads the dataset again with the trainer's loader and stores the new counts. */
  'datasets.recheck': { input: datasetIdSchema, output: datasetEntrySchema },
  /** Deletes the dataset's encoded data from the trainer's cache; a later job encodes it again. */
  'datasets.delete_encoded': { input: datasetIdSchema, output: datasetEntrySchema },
  /** Reads the dataset again with this format, column mapping and text split, and keeps them with it; refused when no row is then usable. */
  'datasets.set_reading': { input: datasetIdSchema.extend({ reading: datasetReadingSchema }), output: datasetEntrySchema },
  /** A dataset jobs trained on needs confirm, and keeps its file for them. */
  'datasets.delete': { input: datasetDeleteInputSchema, output: ok },
  /** The compatibility report and default destination, before an export. */
  'exports.plan': { input: exportSourceSchema, output: exportPlanSchema },
  /** Writes and verifies the zip; answers when it is whole (progress comes as export.progress). */
  'exports.start': { input: exportRequestSchema, output: exportResultSchema },
  /** Uploads the job's adapter (or merged model) and card to a Hugging Face repository, private by
   * default, with the Models page's token; answers when committed (progress as export.progress). */
  'exports.push_hub': { input: hubPushRequestSchema, output: hubPushResultSchema },
  /** Stops the job's running export or push; nothing of it is left on disk. */
  'exports.cancel': { input: jobId, output: ok },
  /** The chat process: stopped, loading, ready; what is loaded and where; why it unloaded. */
  'chat.status': { input: z.object({}), output: chatStatusSchema },
  /** Adds the user's turn and starts the answers (tokens stream as chat.token, ends as chat.done). */
  'chat.send': { input: chatSendInputSchema, output: chatSendOutputSchema },
  /** Ends the conversation's answers now; what was generated so far is kept. */
  'chat.stop': { input: z.object({ conversationId: z.string().min(1) }), output: ok },
  /** Unloads the model and stops the chat process. */
  'chat.unload': { input: z.object({}), output: chatStatusSchema },
  /** Starts a fresh chat process and loads what was loaded before (after it died). */
  'chat.restart': { input: z.object({}), output: chatStatusSchema },
  /** Minutes without a question before the model is unloaded. */
  'chat.set_idle': {
    input: z.object({
      minutes: z
        .number()
        .min(1)
        .max(24 * 60),
    }),
    output: chatStatusSchema,
  },
  /** Conversations, newest first; only those with this adapter when given. */
  'chat.conversations': { input: z.object({ source: chatSourceSchema.nullable().default(null) }), output: z.array(chatConversationSchema) },
  'chat.conversation': {
    input: z.object({ conversationId: z.string().min(1) }),
    output: z.object({ conversation: chatConversationSchema, turns: z.array(chatTurnSchema) }),
  },
  'chat.delete_conversation': { input: z.object({ conversationId: z.string().min(1) }), output: ok },
  /** The adapter library: combined and imported adapters, newest first. */
  'adapters.list': { input: z.object({}), output: z.array(libraryAdapterSchema) },
  /** Combines 2+ adapters of one base and LoRA shape, weighted by training examples (average, or exact by stacking ranks). */
  'adapters.combine': { input: combineRequestSchema, output: libraryAdapterSchema },
  /** What combineProblem compares for each source, read from its adapter_config.json as combine reads it. */
  'adapters.shapes': { input: z.object({ sources: z.array(adapterSourceSchema).min(1) }), output: z.array(combineShapeSchema) },
  /** Unpacks and checks an adapter zip; keeps it only when all of it is sound. */
  'adapters.import': { input: importRequestSchema, output: libraryAdapterSchema },
  /** Writes a library adapter as a zip that adapters.import reads back. */
  'adapters.export': { input: adapterExportRequestSchema, output: z.object({ path: z.string(), bytes: z.int(), prepared: z.boolean() }) },
  'adapters.delete': { input: z.object({ adapterId: z.string().min(1) }), output: ok },
  /** Models in the Hugging Face cache and in the folders the user added. */
  'models.list': { input: z.object({}), output: modelLibrarySchema },
  /** One model in detail: packing, and LoRA/QLoRA memory at the defaults against this GPU (starts Python, seconds). */
  'models.inspect': { input: z.object({ path: z.string().min(1) }), output: modelDetailSchema },
  /** Every listed model's LoRA and QLoRA fit on this GPU at a preset's settings: which models the preset suits. */
  'models.fit': { input: z.object({ preset: z.string().min(1).optional() }), output: modelFitsSchema },
  'models.add_folder': { input: z.object({ path: z.string().min(1) }), output: modelLibrarySchema },
  'models.remove_folder': { input: z.object({ path: z.string().min(1) }), output: modelLibrarySchema },
  /** The hub ids offered for download. */
  'models.set_popular': { input: z.object({ hubIds: z.array(hubIdSchema).max(50) }), output: modelLibrarySchema },
  /** Downloads the files a fine-tune needs; answers when it ends (progress comes as models.progress). */
  'models.download': {
    input: z.object({ hubId: hubIdSchema, revision: z.string().min(1).max(200).optional() }),
    output: downloadProgressSchema,
  },
  /** Stops a download; what was fetched stays, and the next download of it continues from there. */
  'models.cancel': { input: z.object({ hubId: z.string().min(1) }), output: ok },
  /** Downloads running now, for a page opened mid-download. */
  'models.downloads': { input: z.object({}), output: z.array(downloadProgressSchema) },
  /** Downloads a Hub dataset split or a web file into <dataDir>/downloads/ and previews it (progress as models.progress). */
  'datasets.download': { input: datasetDownloadInputSchema, output: datasetDownloadSchema },
  /** Stops a dataset download by its hubId in models.progress (the hub id with config/split, or the URL). */
  'datasets.cancel_download': { input: z.object({ source: z.string().min(1) }), output: ok },
  'models.token': { input: z.object({}), output: tokenStatusSchema },
  /** Stores the Hugging Face token (null forgets it). */
  'models.set_token': { input: z.object({ token: z.string().trim().min(8).max(400).nullable() }), output: tokenStatusSchema },
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

/**
 * The answer to a request naming no declared route. Every transport refuses such a request
 * before anything else looks at it: route names index tables, and a name such as "constructor"
 * or "__proto__" would find Object.prototype's members in a plain object.
 */
export function unknownRouteError(route: unknown): AppError {
  const shown = typeof route === 'string' ? JSON.stringify(route.slice(0, 100)) : typeof route
  return appError('invalid_input', `Unknown route ${shown}: this host does not handle it (is the app up to date?).`, {
    fields: { route: 'unknown route' },
  })
}
