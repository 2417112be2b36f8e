/**
 * One handler per route. The map is typed `Handlers`, so a route declared in
 * electron/shared/routes.ts without a handler here is a compile error. The
 * handlers only translate: the work lives in the job service, the Python
 * environment and the GPU telemetry.
 */
import type { Handlers } from '@shared/api'
import { appError } from '@shared/errors'
import type { JobSettings } from '@shared/config'
import type { Checkpoint, Job, MetricPoint, NewJobInput, Preset, QueueState } from '@shared/jobs'
import type { JobReport } from '@shared/report'
import type { GpuSample } from '@shared/system'
import type { ChatService } from './chat/service'
import type { GpuHistory } from '@shared/gpuHistory'
import type { DatasetLibrary } from './datasets/library'
import type { DatasetPreviews } from './datasets/previews'
import { zipFolder } from './jobs/bundleZip'
import type { EnvironmentDoctor } from './python/doctor'
import type { ExportService } from './exports/service'
import type { EvaluationService } from './jobs/evaluation'
import type { AdapterService } from './adapters/service'
import type { ModelService } from './models/service'
import type { PythonEnvironment } from './python/environment'

type MaybePromise<T> = T | Promise<T>

/** What the handlers need from the engine's job service (sync or async alike). */
export interface JobServiceApi {
  create(input: NewJobInput): MaybePromise<Job>
  /** create(), refusing a method that does not fit the dataset's format; what jobs.create runs. */
  createChecked(input: NewJobInput): Promise<Job>
  list(): MaybePromise<Job[]>
  get(jobId: string): MaybePromise<Job>
  metrics(jobId: string, maxPoints?: number): MaybePromise<MetricPoint[]>
  terminal(jobId: string): MaybePromise<string>
  report(jobId: string): MaybePromise<JobReport>
  pause(jobId: string): MaybePromise<Job>
  resume(jobId: string): MaybePromise<Job>
  cancel(jobId: string): MaybePromise<Job>
  bundle(jobId: string, out: string): MaybePromise<string>
  importRun(from: string): MaybePromise<Job>
  checkpoint(jobId: string, name: string): MaybePromise<unknown>
  checkpoints(jobId: string): MaybePromise<Checkpoint[]>
  deleteCheckpoint(jobId: string, name: string): MaybePromise<unknown>
  delete(jobId: string): MaybePromise<unknown>
  diskUsage(): MaybePromise<Record<string, number>>
  move(jobId: string, position: number): MaybePromise<Job[]>
  queueState(): MaybePromise<QueueState>
  setQueue(change: Partial<QueueState>): MaybePromise<QueueState>
  presets(): MaybePromise<Preset[]>
  selftestSettings(): MaybePromise<JobSettings>
}

/** Everything the handlers reach. */
export interface HandlerContext {
  jobs: JobServiceApi
  /** Base against tuned on a job's held-out rows. */
  evaluations: Pick<EvaluationService, 'evaluate' | 'saved' | 'cancel'>
  python: PythonEnvironment
  doctor: EnvironmentDoctor
  /** A GPU sample for system.info (the telemetry caches a "no GPU" answer). */
  sampleGpu: () => Promise<GpuSample>
  /** The GPU readings stored for a job while it ran. */
  gpuHistory: (jobId: string) => GpuHistory
  appVersion: string
  dataDir: string
  /** Zips of finished jobs for PEFT, vLLM, llama.cpp and Ollama. */
  exports: Pick<ExportService, 'plan' | 'start' | 'cancel' | 'push'>
  /** The chat process and the conversations kept per adapter. */
  chat: ChatService
  /** The adapter library: combined and imported adapters. */
  adapters: Pick<AdapterService, 'list' | 'combine' | 'shapes' | 'import' | 'export' | 'delete'>
  /** The model library: the hub cache, added folders, downloads, the Hub token. */
  models: ModelService
  /** The imported datasets (datasets/<id>/). */
  datasets: DatasetLibrary
  /** Dataset previews, the long ones followed by progress events and stoppable. */
  previews: DatasetPreviews
}

/** Builds the handler map over one host's services. */
export function createHandlers(context: HandlerContext): Handlers {
  const { jobs, python } = context
  return {
    'jobs.create': async (input) => await jobs.createChecked(input),
    'jobs.list': async () => await jobs.list(),
    'jobs.get': async ({ jobId }) => await jobs.get(jobId),
    'jobs.gpu_history': async ({ jobId }) => {
      await jobs.get(jobId) // an unknown job is a not_found error, not an empty history
      return context.gpuHistory(jobId)
    },
    'jobs.metrics': async ({ jobId, maxPoints }) => await jobs.metrics(jobId, maxPoints),
    'jobs.terminal': async ({ jobId }) => ({ text: await jobs.terminal(jobId) }),
    'jobs.report': async ({ jobId }) => await jobs.report(jobId),
    'jobs.evaluate': async ({ jobId, limit, maxNewTokens, dataset }) => {
      await jobs.get(jobId) // an unknown job is named before any Python starts
      // A library id names its file; anything else is a path, which the trainer checks and names.
      const datasetPath =
        dataset === undefined
          ? undefined
          : (await context.datasets.list()).some((entry) => entry.id === dataset)
            ? context.datasets.filePath(dataset)
            : dataset
      return await context.evaluations.evaluate(jobId, limit, maxNewTokens, datasetPath)
    },
    'jobs.evaluation': async ({ jobId }) => {
      await jobs.get(jobId)
      return context.evaluations.saved(jobId)
    },
    'jobs.evaluation_cancel': async ({ jobId }) => {
      context.evaluations.cancel(jobId)
      return { ok: true }
    },
    'jobs.pause': async ({ jobId }) => await jobs.pause(jobId),
    'jobs.resume': async ({ jobId }) => await jobs.resume(jobId),
    'jobs.cancel': async ({ jobId }) => await jobs.cancel(jobId),
    'jobs.bundle': async ({ jobId, out, zip }) => {
      const path = await jobs.bundle(jobId, out)
      return zip ? { path, zip: await zipFolder(path, `${path}.zip`) } : { path }
    },
    'jobs.import_run': async ({ path }) => await jobs.importRun(path),
    'jobs.checkpoint': async ({ jobId, name }) => {
      await jobs.checkpoint(jobId, name)
      return { ok: true }
    },
    'jobs.checkpoints': async ({ jobId }) => await jobs.checkpoints(jobId),
    'jobs.delete_checkpoint': async ({ jobId, name }) => {
      await jobs.deleteCheckpoint(jobId, name)
      return { ok: true }
    },
    'jobs.delete': async ({ jobId }) => {
      await jobs.delete(jobId)
      return { ok: true }
    },
    'jobs.disk': async () => await jobs.diskUsage(),
    'queue.move': async ({ jobId, position }) => await jobs.move(jobId, position),
    'queue.get': async () => await jobs.queueState(),
    'queue.set': async (change) => await jobs.setQueue(change),
    'presets.list': async () => await jobs.presets(),
    'presets.selftest': async () => await jobs.selftestSettings(),
    'datasets.preview': async (input) => await context.previews.preview(input),
    'datasets.preview_cancel': async ({ requestId }) => ({ cancelled: context.previews.cancel(requestId) }),
    'datasets.list': async () => await context.datasets.list(),
    'datasets.get': async ({ datasetId }) => await context.datasets.get(datasetId),
    'datasets.import': async ({ path, name }) => await context.datasets.importPath(path, name),
    'datasets.rename': async ({ datasetId, name }) => await context.datasets.rename(datasetId, name),
    'datasets.recheck': async ({ datasetId }) => await context.datasets.recheck(datasetId),
    'datasets.delete_encoded': async ({ datasetId }) => await context.datasets.deleteEncoded(datasetId),
    'datasets.set_reading': async ({ datasetId, reading }) => await context.datasets.setReading(datasetId, reading),
    'datasets.delete': async ({ datasetId, confirm }) => {
      await context.datasets.delete(datasetId, confirm)
      return { ok: true }
    },
    'exports.plan': async (input) => await context.exports.plan(input),
    'exports.start': async (input) => await context.exports.start(input),
    'exports.push_hub': async (input) => await context.exports.push(input),
    'exports.cancel': async ({ jobId }) => {
      context.exports.cancel(jobId)
      return { ok: true }
    },
    'chat.status': async () => context.chat.current(),
    'chat.send': async (input) => await context.chat.send(input),
    'chat.stop': async ({ conversationId }) => {
      context.chat.stop(conversationId)
      return { ok: true }
    },
    'chat.unload': async () => await context.chat.unload(),
    'chat.restart': async () => await context.chat.restart(),
    'chat.set_idle': async ({ minutes }) => context.chat.setIdleMinutes(minutes),
    'chat.conversations': async ({ source }) => context.chat.conversations.list(source),
    'chat.conversation': async ({ conversationId }) => ({
      conversation: context.chat.conversations.get(conversationId),
      turns: context.chat.conversations.turns(conversationId),
    }),
    'chat.delete_conversation': async ({ conversationId }) => {
      context.chat.conversations.delete(conversationId)
      return { ok: true }
    },
    'adapters.list': () => Promise.resolve(context.adapters.list()),
    'adapters.combine': async (input) => await context.adapters.combine(input),
    'adapters.shapes': async ({ sources }) => await context.adapters.shapes(sources),
    'adapters.import': async (input) => await context.adapters.import(input),
    'adapters.export': async (input) => await context.adapters.export(input),
    'adapters.delete': async ({ adapterId }) => {
      await context.adapters.delete(adapterId)
      // Its conversations go with it, as a job's go with the job (a foreign key cannot reach a folder).
      context.chat.conversations.forgetAdapter(adapterId)
      return { ok: true }
    },
    'models.list': async () => await context.models.list(),
    'models.inspect': async ({ path }) => await context.models.inspect(path),
    'models.fit': async ({ preset }) => {
      const chosen = preset === undefined ? undefined : (await jobs.presets()).find((candidate) => candidate.id === preset)
      if (preset !== undefined && !chosen)
        throw appError('not_found', `Preset: no preset "${preset}"; choose one of the listed presets`, {
          fields: { preset: 'unknown preset' },
        })
      return await context.models.fit(chosen ?? {})
    },
    'models.add_folder': async ({ path }) => await context.models.addFolder(path),
    'models.remove_folder': async ({ path }) => await context.models.removeFolder(path),
    'models.set_popular': async ({ hubIds }) => await context.models.setPopular(hubIds),
    'models.download': async ({ hubId, revision }) => await context.models.download(hubId, revision),
    'models.cancel': async ({ hubId }) => {
      await context.models.cancel(hubId)
      return { ok: true }
    },
    'models.downloads': async () => context.models.running(),
    'datasets.download': async (input) => await context.models.downloadDataset(input, (file) => context.previews.preview({ path: file })),
    'datasets.cancel_download': async ({ source }) => {
      await context.models.cancel(source, 'dataset')
      return { ok: true }
    },
    'models.token': async () => await context.models.token(),
    'models.set_token': async ({ token }) => await context.models.setToken(token),
    'system.info': async () => {
      const [info, gpu] = await Promise.all([python.probe(), context.sampleGpu()])
      return {
        appVersion: context.appVersion,
        platform: process.platform,
        dataDir: context.dataDir,
        python: info,
        envState: python.envState(),
        gpu,
      }
    },
    'python.setup': async () => python.setup(),
    'system.doctor': async () => await context.doctor.examine(),
    'system.repair': async ({ check }) => await context.doctor.repair(check),
  }
}
