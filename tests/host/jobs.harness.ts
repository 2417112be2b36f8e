/**
 * Shared set-up for the host's job-engine tests: a temporary data directory,
 * a real JobService over a real SQLite file, its routes through the host's
 * own handler map (every output checked against the route's schema, see
 * routes.ts), and helpers that wait for what a user would see (a status, an
 * event).
 */
import { EvaluationService } from '../../electron/host/jobs/evaluation'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { appError } from '@shared/errors'
import type { EventName, EventPayload } from '@shared/events'
import { liveStatuses, type Job, type JobStatus } from '@shared/jobs'
import type { RouteInput, RouteName, RouteOutput } from '@shared/routes'
import { GpuTelemetry } from '../../electron/host/gpu/telemetry'
import { DatasetPreviews } from '../../electron/host/datasets/previews'
import { ChatService, type ChatServiceOptions } from '../../electron/host/chat/service'
import { GpuHistoryStore } from '../../electron/host/gpu/history'
import { openDatabase } from '../../electron/host/store/database'
import { createHandlers } from '../../electron/host/handlers'
import { JobService, type JobServiceOptions } from '../../electron/host/jobs/service'
import { ExportService } from '../../electron/host/exports/service'
import { AdapterService } from '../../electron/host/adapters/service'
import { ModelService } from '../../electron/host/models/service'
import { DatasetLibrary } from '../../electron/host/datasets/library'
import { previewDataset } from '../../electron/host/datasets/preview'
import { EnvironmentDoctor } from '../../electron/host/python/doctor'
import { PythonEnvironment } from '../../electron/host/python/environment'
import type { TrainerCommand } from '../../electron/host/trainer/process'
import { handlerDispatcher, request, type Dispatcher } from './routes'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
export const pythonRuntimeDir = path.join(repoRoot, 'python-runtime')
export const resourcesDir = path.join(repoRoot, 'resources')
export const fixtureTrainer = path.join(repoRoot, 'tests', 'fixtures', 'trainers', 'scripted.py')
/** The trainer's interpreter; CI sets TUNEDECK_PYTHON. */
export const python = process.env.TUNEDECK_PYTHON || 'python3'

export interface Emitted {
  event: EventName
  payload: unknown
}

/** A temporary folder removed by `cleanup`. */
export function temporaryDir(prefix = 'tunedeck-host-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

/** A JobService over a data directory, recording every event it emits. */
export class Harness {
  readonly emitted: Emitted[] = []
  /** The engine itself, for what no route does: start() and shutdown(). */
  readonly service: JobService
  /** The chat service (its process starts on the first chat.send). */
  readonly chat: ChatService
  private readonly routes: Dispatcher
  private history: GpuHistoryStore | null = null

  constructor(
    readonly dataDir: string,
    options: Partial<JobServiceOptions> = {},
    chatOptions: Partial<ChatServiceOptions> = {},
  ) {
    this.service = new JobService({
      dataDir,
      pythonRuntimeDir,
      resourcesDir,
      resolvePython: async () => {
        if (path.isAbsolute(python) && !fs.existsSync(python)) throw appError('python_missing', `no Python at ${python} (TUNEDECK_PYTHON)`)
        return python
      },
      emit: <E extends EventName>(event: E, payload: EventPayload<E>) => this.emitted.push({ event, payload }),
      beforeLaunch: (jobName) => this.chat.releaseGpu(jobName),
      ...options,
    })
    this.chat = new ChatService({
      dataDir,
      pythonRuntimeDir,
      resolvePython: async () => python,
      getJob: (jobId) => this.service.get(jobId),
      busyJob: () => this.service.list().find((job) => liveStatuses.includes(job.status))?.name ?? null,
      emit: (event, payload) => this.emitted.push({ event, payload }),
      ...chatOptions,
    })
    const telemetry = new GpuTelemetry()
    const environment = new PythonEnvironment({ dataDir, pythonRuntimeDir, emit: () => undefined })
    const handlers = createHandlers({
      datasets: new DatasetLibrary({
        dataDir,
        check: (file) => previewDataset({ path: file, limit: 0 }, { resolvePython: () => environment.resolvePython(), pythonRuntimeDir }),
        listJobs: () => this.service.list(),
      }),
      previews: new DatasetPreviews({
        resolvePython: () => environment.resolvePython(),
        pythonRuntimeDir,
        emit: (progress) => this.emitted.push({ event: 'datasets.preview_progress', payload: progress }),
        concurrent: 1,
      }),
      jobs: this.service,
      evaluations: new EvaluationService({
        resolvePython: async () => python,
        pythonRuntimeDir,
        jobDir: (jobId) => this.jobDir(jobId),
        emit: (progress) => this.emitted.push({ event: 'job.evaluation_progress', payload: progress }),
      }),
      python: environment,
      doctor: new EnvironmentDoctor({ python: environment, dataDir, pythonRuntimeDir }),
      exports: new ExportService({
        dataDir,
        appVersion: '0.1.0-test',
        pythonRuntimeDir,
        resolvePython: () => environment.resolvePython(),
        getJob: (id) => this.service.get(id),
        emit: () => undefined,
      }),
      chat: this.chat,
      adapters: new AdapterService({
        dataDir,
        appVersion: '0.1.0-test',
        pythonRuntimeDir,
        resolvePython: () => environment.resolvePython(),
        getJob: (id) => this.service.get(id),
      }),
      models: new ModelService({ dataDir, pythonRuntimeDir, resolvePython: () => environment.resolvePython(), emit: () => undefined }),
      sampleGpu: () => telemetry.sample(),
      gpuHistory: (jobId) => this.gpuHistory.list(jobId),
      appVersion: '0.1.0-test',
      dataDir,
    })
    this.routes = handlerDispatcher(handlers)
  }

  /** The GPU readings store over the same database, as the host keeps it beside the job service (opened on first use). */
  get gpuHistory(): GpuHistoryStore {
    this.history ??= new GpuHistoryStore(openDatabase(this.dataDir))
    return this.history
  }

  /** Calls a route as the renderer would; its output is checked against the route's schema, an error is thrown as a RouteError. */
  request<R extends RouteName>(route: R, input: RouteInput<R>): Promise<RouteOutput<R>> {
    return request(this.routes, route, input)
  }

  /** Payloads of one event kind, in order. */
  payloads<E extends EventName>(event: E): EventPayload<E>[] {
    return this.emitted.filter((item) => item.event === event).map((item) => item.payload as EventPayload<E>)
  }

  /** The statuses job.updated announced for a job, without repeats in a row. */
  statuses(jobId: string): JobStatus[] {
    const seen: JobStatus[] = []
    for (const job of this.payloads('job.updated')) {
      if (job.id === jobId && seen[seen.length - 1] !== job.status) seen.push(job.status)
    }
    return seen
  }

  jobDir(jobId: string): string {
    return path.join(this.dataDir, 'jobs', jobId)
  }

  /** Waits until the job is in one of `statuses` and returns it. */
  async waitForStatus(jobId: string, statuses: JobStatus | JobStatus[], timeoutMs = 60_000): Promise<Job> {
    const wanted = Array.isArray(statuses) ? statuses : [statuses]
    let job = await this.request('jobs.get', { jobId })
    await waitFor(
      async () => {
        job = await this.request('jobs.get', { jobId })
        return wanted.includes(job.status)
      },
      timeoutMs,
      () => `job ${jobId} to be ${wanted.join(' or ')}, it is ${job.status}: ${JSON.stringify(job.error)}`,
    )
    return job
  }
}

/** Polls `condition` every 50 ms until it holds, or fails with `what`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** A trainerCommand that runs the scripted fixture trainer with the scenario `scenario()` names at launch. */
export function scriptedTrainer(scenario: () => string): (jobDir: string) => TrainerCommand {
  return () => ({ file: python, args: [fixtureTrainer, scenario()] })
}

/** True while a process with this pid exists (zombies count as gone). */
export function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

/** The processes whose working folder is `dir` (a trainer runs in its job's folder), as `ps` would list them. */
export function processesIn(dir: string): number[] {
  const found: number[] = []
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (fs.realpathSync(`/proc/${entry}/cwd`) === fs.realpathSync(dir) && processAlive(Number(entry))) found.push(Number(entry))
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found
}

/** The bundled self-test dataset. */
export function selftestDataset(): string {
  return path.join(resourcesDir, 'selftest', 'dataset.jsonl')
}
