/**
 * The host, assembled: the job service, the Python environment and the GPU
 * telemetry behind one dispatch function and one event stream. Both
 * transports (the utility process's MessagePort and serve's WebSocket) wrap
 * this object and add nothing but framing.
 */
import path from 'node:path'
import type { Handlers } from '@shared/api'
import { appError, isAppError, validationError, type AppError } from '@shared/errors'
import type { EventName } from '@shared/events'
import { liveStatuses, type Job } from '@shared/jobs'
import { isRouteName, routes, unknownRouteError, type RouteName } from '@shared/routes'
import { GpuSampler } from './gpu/sampler'
import { GpuTelemetry } from './gpu/telemetry'
import { ChatService } from './chat/service'
import { DatasetPreviews } from './datasets/previews'
import { GpuHistoryStore } from './gpu/history'
import { openDatabase } from './store/database'
import { ExportService } from './exports/service'
import { EvaluationService } from './jobs/evaluation'
import { AdapterService } from './adapters/service'
import { ModelService } from './models/service'
import { fileTokenStore, osTokenStore, type OsCrypt } from './models/settings'
import { DatasetLibrary } from './datasets/library'
import { previewDataset } from './datasets/preview'
import { readingInput } from '@shared/datasets'
import { createHandlers } from './handlers'
import { JobService, type JobServiceOptions } from './jobs/service'
import { EnvironmentDoctor, machineTorchBuild } from './python/doctor'
import { PythonEnvironment } from './python/environment'
import { makePrivateDataDir } from './private'

/** What createHost needs; paths are absolute. */
export interface HostOptions {
  /** Where tunedeck.db, jobs/, datasets/ and python-env/ live. */
  dataDir: string
  /** Presets, icons and other packaged files. */
  resourcesDir: string
  /** The trainer's Python package and its requirements.txt. */
  pythonRuntimeDir: string
  appVersion: string
  /** Seconds without a trainer heartbeat before a job counts as hung. */
  watchdogSeconds?: number
  /** The requirements the Python set-up installs; defaults to <pythonRuntimeDir>/requirements.txt. */
  requirementsFile?: string
  /** The OS key store (the desktop app's safeStorage); without it the Hub token is a 0600 file. */
  osCrypt?: OsCrypt
  /** Lets datasets.download fetch from loopback and private addresses (serve --allow-private-downloads). */
  allowPrivateDownloads?: boolean
  /** What runs a job instead of the trainer: the benchmarks' fixture trainer (bench/host_pipeline). */
  trainerCommand?: JobServiceOptions['trainerCommand']
}

/** A route's answer before a transport frames it as a WireResponse. */
export type DispatchResult = { ok: true; output: unknown } | { ok: false; error: AppError }

/** Receives every event the host emits. */
export type HostListener = (event: EventName, payload: unknown) => void

/** One running host. */
export interface Host {
  /** Validates the input against the route's schema and runs its handler; never rejects. */
  dispatch(route: string, input: unknown): Promise<DispatchResult>
  /** Calls back on every event; the returned function unsubscribes. */
  subscribe(listener: HostListener): () => void
  /** Recovers jobs left by an earlier run and starts the queue. */
  start(): Promise<void>
  /** Pauses running jobs with a checkpoint and stops everything; safe to call twice. */
  shutdown(): Promise<void>
  /** The dataset library, for serve's upload endpoint (everything else goes through dispatch). */
  readonly datasets: DatasetLibrary
  /** The adapter library, for serve's adapter zip upload. */
  readonly adapters: Pick<AdapterService, 'importStream'>
}

/** Turns anything a handler threw into the AppError the caller sees. */
function toAppError(error: unknown, route: string): AppError {
  if (isAppError(error)) {
    // An Error subclass carrying a code passes isAppError but loses its message in JSON.
    const { code, message, data } = error
    return appError(code, message, data)
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error)
  process.stderr.write(`Route ${route} failed:\n${stack}\n`)
  const message = error instanceof Error ? error.message : String(error)
  return appError('internal', message || 'Internal error')
}

/** Builds a host over one data directory; call start() before serving requests. */
export function createHost(options: HostOptions): Host {
  makePrivateDataDir(options.dataDir)
  const listeners = new Set<HostListener>()
  const telemetry = new GpuTelemetry()
  const emit: HostListener = (event, payload) => {
    if (event === 'job.updated') sampler.jobUpdated(payload as Job)
    if (event === 'job.deleted') gpuHistory.forget((payload as { jobId: string }).jobId)
    for (const listener of listeners) {
      try {
        listener(event, payload)
      } catch (error) {
        process.stderr.write(`An event listener failed on ${event}: ${(error as Error).stack}\n`)
      }
    }
  }
  // Its own connection to tunedeck.db: the readings are written beside the job service's, never inside its transactions.
  const gpuHistory = new GpuHistoryStore(openDatabase(options.dataDir))
  const sampler = new GpuSampler(
    () => telemetry.sample(),
    (sample, liveJobIds) => {
      gpuHistory.record(liveJobIds, sample)
      emit('gpu.sample', sample)
    },
  )
  const python = new PythonEnvironment({
    dataDir: options.dataDir,
    pythonRuntimeDir: options.pythonRuntimeDir,
    requirementsFile: options.requirementsFile,
    emit: (progress) => emit('python.setup', progress),
    torchBuild: machineTorchBuild,
  })
  const doctor = new EnvironmentDoctor({
    python,
    dataDir: options.dataDir,
    pythonRuntimeDir: options.pythonRuntimeDir,
    requirementsFile: options.requirementsFile,
  })
  const jobs: JobService = new JobService({
    dataDir: options.dataDir,
    resourcesDir: options.resourcesDir,
    pythonRuntimeDir: options.pythonRuntimeDir,
    resolvePython: () => python.resolvePython(),
    emit,
    watchdogSeconds: options.watchdogSeconds,
    trainerCommand: options.trainerCommand,
    beforeLaunch: (jobName: string): Promise<void> => chat.releaseGpu(jobName),
  })
  const chat: ChatService = new ChatService({
    dataDir: options.dataDir,
    pythonRuntimeDir: options.pythonRuntimeDir,
    resolvePython: () => python.resolvePython(),
    getJob: (jobId: string): Job => jobs.get(jobId),
    busyJob: () => jobs.list().find((job: Job) => liveStatuses.includes(job.status))?.name ?? null,
    emit,
  })
  // The Hugging Face token of the Models page: downloads read it, and so does a push to the Hub.
  const tokens = options.osCrypt ? osTokenStore(options.dataDir, options.osCrypt) : fileTokenStore(options.dataDir)
  const exportService = new ExportService({
    dataDir: options.dataDir,
    appVersion: options.appVersion,
    pythonRuntimeDir: options.pythonRuntimeDir,
    resolvePython: () => python.resolvePython(),
    getJob: (jobId) => jobs.get(jobId),
    emit: (progress) => emit('export.progress', progress),
    readToken: () => tokens.read(),
  })
  const adapters = new AdapterService({
    dataDir: options.dataDir,
    appVersion: options.appVersion,
    pythonRuntimeDir: options.pythonRuntimeDir,
    resolvePython: () => python.resolvePython(),
    getJob: (jobId) => jobs.get(jobId),
    usedBy: async (folder) =>
      (await jobs.list()).find((job) => ['queued', ...liveStatuses].includes(job.status) && job.config.initFrom === folder)?.name ?? null,
  })
  const models = new ModelService({
    dataDir: options.dataDir,
    pythonRuntimeDir: options.pythonRuntimeDir,
    resolvePython: () => python.resolvePython(),
    emit: (progress) => emit('models.progress', progress),
    tokens,
    allowPrivateDownloads: options.allowPrivateDownloads,
  })
  const datasets = new DatasetLibrary({
    dataDir: options.dataDir,
    check: (file, reading) =>
      previewDataset(
        { path: file, limit: 0, ...readingInput(reading) },
        { resolvePython: () => python.resolvePython(), pythonRuntimeDir: options.pythonRuntimeDir, timeoutMs: 30 * 60_000 },
      ),
    listJobs: () => jobs.list(),
  })
  datasets.cleanStaging()
  const previews = new DatasetPreviews({
    resolvePython: () => python.resolvePython(),
    pythonRuntimeDir: options.pythonRuntimeDir,
    emit: (progress) => emit('datasets.preview_progress', progress),
  })
  const evaluations = new EvaluationService({
    resolvePython: () => python.resolvePython(),
    pythonRuntimeDir: options.pythonRuntimeDir,
    jobDir: (jobId) => path.join(options.dataDir, 'jobs', jobId),
    emit: (progress) => emit('job.evaluation_progress', progress),
  })
  const handlers: Handlers = createHandlers({
    evaluations,
    datasets,
    previews,
    exports: exportService,
    chat,
    adapters,
    models,
    jobs,
    python,
    doctor,
    sampleGpu: () => telemetry.sample(),
    gpuHistory: (jobId) => gpuHistory.list(jobId),
    appVersion: options.appVersion,
    dataDir: options.dataDir,
  })
  let started: Promise<void> | null = null
  let stopped: Promise<void> | null = null

  async function run<R extends RouteName>(route: R, input: unknown): Promise<DispatchResult> {
    const schema = routes[route].input
    const parsed = schema.safeParse(input ?? {}, { reportInput: true })
    // Given the schema, fields with a label (the job settings) are named by it: "LoRA rank: expected ...".
    if (!parsed.success) return { ok: false, error: validationError(parsed.error.issues, `Invalid input for ${route}`, schema) }
    if (started) await started
    const handler = handlers[route] as (input: unknown) => Promise<unknown>
    return { ok: true, output: await handler(parsed.data) }
  }

  return {
    datasets,
    adapters,
    async dispatch(route, input) {
      if (!isRouteName(route)) return { ok: false, error: unknownRouteError(route) }
      if (stopped) return { ok: false, error: appError('conflict', 'Tunedeck is shutting down: try again after it restarts.') }
      try {
        return await run(route, input)
      } catch (error) {
        return { ok: false, error: toAppError(error, route) }
      }
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    start() {
      started ??= Promise.resolve(jobs.start())
      return started
    },
    shutdown() {
      stopped ??= (async () => {
        sampler.stop()
        python.stop()
        exportService.shutdown()
        await Promise.all([jobs.shutdown(), chat.shutdown()])
        models.shutdown()
        await jobs.shutdown()
        gpuHistory.close()
      })()
      return stopped
    },
  }
}
