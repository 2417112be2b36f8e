/**
 * The job engine: creates jobs, keeps the persistent queue, runs one trainer
 * per live job, and answers every jobs.*, queue.* and presets.* route.
 * Errors are thrown as AppError values ({code, message, data}), which the
 * transports send on unchanged.
 */
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { appError, isAppError, validationError, type AppError } from '@shared/errors'
import type { JobSettings } from '@shared/config'
import type { JobReport } from '@shared/report'
import {
  liveStatuses,
  queueStateSchema,
  type Checkpoint,
  type Job,
  type MetricPoint,
  type NewJobInput,
  type Preset,
  type QueueState,
} from '@shared/jobs'
import { canDo, transitionProblem, type JobAction } from '@shared/jobStates'
import { Store, newJobRecord, toJob, type JobRecord } from '../store'
import type { TrainerCommand } from '../trainer/process'
import { folderBytes } from '../folderBytes'
import { TerminalLog } from '../trainer/terminal'
import { deleteCheckpoint, describeJob, presentCheckpoints } from './catalog'
import { checkpointNameProblem, resumeCheckpoint } from './checkpoints'
import { readEvents } from '../trainer/tailer'
import { copyRun, writeBundle } from './bundle'
import { buildJobConfig, loadPresets, readSelftestFile, writeConfigFile } from './config'
import { ingestEvents } from './ingest'
import { checkMethodFits } from './methodFit'
import { recoverJobs } from './recovery'
import { deleteJob, finishDeletions } from './removal'
import { buildReport } from './report'
import { JobRun, type Emit } from './run'
import { childEnvironment } from '../childEnv'
import { encodedCacheFolder } from '../datasets/encodedCache'

export type { Emit } from './run'

/** What the service needs from its host. Paths are absolute. */
export interface JobServiceOptions {
  /** Holds tunedeck.db and jobs/<id>/. */
  dataDir: string
  /** The python-runtime folder, put on the trainer's PYTHONPATH. */
  pythonRuntimeDir: string
  /** Holds presets/ and selftest/. */
  resourcesDir: string
  /** The interpreter to run trainers with; rejects with an AppError coded python_missing. */
  resolvePython: () => Promise<string>
  emit: Emit
  /** Seconds without any event line (heartbeats included) before a trainer counts as hung. Default 120. */
  watchdogSeconds?: number
  /** Replaces the trainer command; only tests use it, to run fixture trainers. */
  trainerCommand?: (jobDir: string) => TrainerCommand
  /** How long shutdown() waits for paused trainers to exit before killing them. Default 60. */
  shutdownSeconds?: number
  /** Awaited before a trainer launches: the chat gives the GPU back (training comes first). */
  beforeLaunch?: (jobName: string) => Promise<void>
}

const defaultQueue: QueueState = { running: true, concurrency: 1 }
const queueKey = 'queue'

let lastIdTime = 0

/**
 * A new job id: creation time in ms, base36, then random characters. The
 * time never repeats within a process, so ids sort in creation order.
 */
function newJobId(): string {
  lastIdTime = Math.max(Date.now(), lastIdTime + 1)
  const random = BigInt('0x' + randomBytes(5).toString('hex')).toString(36).padStart(8, '0').slice(-8)
  return lastIdTime.toString(36).padStart(9, '0') + random
}

/** The status each of the user's actions moves a job to. */
const actionTargets: Record<JobAction, Job['status']> = { pause: 'pausing', resume: 'queued', cancel: 'cancelled' }

/** `name`, or "name (2)", "name (3)"... : the first that no job in `taken` has. */
export function uniqueName(name: string, taken: ReadonlySet<string>): string {
  if (!taken.has(name)) return name
  for (let count = 2; ; count++) if (!taken.has(`${name} (${count})`)) return `${name} (${count})`
}

/** The conflict for an action the job's state does not allow; it names both states. */
function refusal(record: JobRecord, action: JobAction, hint: string): AppError {
  const to = actionTargets[action]
  const problem = transitionProblem(record.status, to)
  const detail = problem === undefined ? '' : ` (${problem})`
  return appError('conflict', `${describeJob(record)}; ${hint}${detail}`, { status: record.status, to })
}

/** The job engine behind the routes. Call start() once before use and shutdown() on exit. */
export class JobService {
  private readonly store: Store
  private readonly runs = new Map<string, JobRun>()
  /** Jobs marked starting whose trainer is not spawned yet (waiting for the interpreter). */
  private readonly launching = new Set<string>()
  /** Launches in flight, which shutdown() lets finish before it closes the database. */
  private readonly launches = new Set<Promise<void>>()
  private readonly watchdogSeconds: number
  private accepting = false
  private ticker: NodeJS.Timeout | undefined
  private stopping: Promise<void> | undefined

  constructor(private readonly options: JobServiceOptions) {
    this.watchdogSeconds = options.watchdogSeconds ?? 120
    this.store = Store.open(options.dataDir)
  }

  /** Crash recovery, then the queue starts taking jobs. */
  async start(): Promise<void> {
    if (this.accepting || this.stopping) return
    finishDeletions(path.join(this.options.dataDir, 'jobs'))
    for (const record of await recoverJobs(this.store, (id) => this.jobDir(id))) this.options.emit('job.updated', toJob(record))
    this.accepting = true
    this.ticker = setInterval(() => {
      const now = Date.now()
      for (const run of this.runs.values()) run.tick(now)
    }, 1000)
    this.schedule()
  }

  /**
   * Pauses every live job (each saves a checkpoint and exits), waits up to
   * shutdownSeconds for them, kills what is left, and closes the database.
   */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      this.accepting = false
      await Promise.all(this.launches)
      for (const [id, run] of this.runs) {
        run.shutdown()
        const record = this.record(id)
        if (canDo('pause', record.status)) {
          run.pause()
          this.update(id, { status: 'pausing' })
        }
      }
      const ended = Promise.all([...this.runs.values()].map((run) => run.ended))
      const within = (seconds: number) => Promise.race([ended, new Promise((resolve) => setTimeout(resolve, seconds * 1000).unref())])
      await within(this.options.shutdownSeconds ?? 60)
      for (const run of this.runs.values()) run.kill()
      // A process stuck in the kernel may outlive SIGKILL for a while; do not hang the quit on it.
      await within(10)
      for (const run of this.runs.values()) run.detach()
      clearInterval(this.ticker)
      this.store.close()
    })()
    return this.stopping
  }

  /** jobs.create: create(), once the dataset's format is known to fit the method (methodFit.ts). */
  async createChecked(input: NewJobInput): Promise<Job> {
    const { config } = buildJobConfig('check', input, this.options)
    await checkMethodFits(config, { resolvePython: this.options.resolvePython, pythonRuntimeDir: this.options.pythonRuntimeDir })
    return this.create(input)
  }

  /** Creates a queued job at the end of the queue from what the new-job form sent. */
  create(input: NewJobInput): Job {
    const id = newJobId()
    const built = buildJobConfig(id, input, this.options)
    const { config } = built
    // Pages, cards and the combine form name jobs by their names: no two alike.
    const name = uniqueName(built.name, new Set(this.store.jobs.list().map((job) => job.name)))
    writeConfigFile(this.jobDir(id), config)
    const position = this.store.jobs.queued().length + 1
    this.store.jobs.insert(newJobRecord({ id, name, status: 'queued', config, createdAt: Date.now(), queuePosition: position }))
    this.emitUpdated(id)
    this.schedule()
    return toJob(this.record(id))
  }

  /** Writes the job as a bundle for torchrun, Slurm or SkyPilot (jobs/bundle.ts); returns its folder. */
  bundle(jobId: string, out: string): string {
    const record = this.record(jobId)
    const source = { jobId, name: record.name, config: record.config, pythonRuntimeDir: this.options.pythonRuntimeDir }
    return writeBundle(source, path.resolve(out))
  }

  /** Brings back what a run elsewhere wrote as a new job, ended as its events say (interrupted without a final one). */
  importRun(from: string): Job {
    const id = newJobId()
    const dir = this.jobDir(id)
    const config = copyRun(path.resolve(from), dir, id)
    writeConfigFile(dir, config)
    this.store.jobs.insert(newJobRecord({ id, name: `Imported from ${path.basename(path.resolve(from))}`, status: 'running', config, createdAt: Date.now() }))
    const batch = readEvents(path.join(dir, 'events.jsonl'), 0, () => undefined)
    ingestEvents(this.store, id, dir, batch.events, batch.offset)
    if (liveStatuses.includes(this.record(id).status)) this.update(id, { status: 'interrupted' })
    this.emitUpdated(id)
    return toJob(this.record(id))
  }

  /** Every job, newest first. */
  list(): Job[] {
    return this.store.jobs.list().map(toJob)
  }

  get(jobId: string): Job {
    return toJob(this.record(jobId))
  }

  /** Every stored step of the job, in order (they survive pauses and resumes). */
  metrics(jobId: string): MetricPoint[] {
    this.record(jobId)
    return this.store.metrics.list(jobId)
  }

  /** The last 256 KiB of the job's terminal.log. */
  terminal(jobId: string): string {
    this.record(jobId)
    return new TerminalLog(this.jobDir(jobId)).tail()
  }

  /** Asks a live trainer to save a pause checkpoint and exit; the job is pausing until it has. */
  pause(jobId: string): Job {
    const record = this.record(jobId)
    // Pausing twice asks for nothing new (see the note in jobStates.ts).
    if (record.status === 'pausing') return toJob(record)
    const run = this.runs.get(jobId)
    if (run === undefined || !canDo('pause', record.status)) throw refusal(record, 'pause', 'only a running job can be paused')
    run.pause()
    return toJob(this.update(jobId, { status: 'pausing' }))
  }

  /**
   * Queues a paused, interrupted or failed job again at the front of the
   * queue, to continue from its newest whole checkpoint (the one its pause
   * named, if whole). Its metrics stay, so the loss chart goes on.
   */
  resume(jobId: string): Job {
    const record = this.record(jobId)
    if (!canDo('resume', record.status)) throw refusal(record, 'resume', 'only a paused, interrupted or failed job can be resumed')
    const checkpoint = resumeCheckpoint(this.jobDir(jobId), record.pausedCheckpoint)
    if (checkpoint === undefined && record.status === 'failed') {
      throw appError('conflict', `${describeJob(record)} and saved no checkpoint to resume from; fix the cause and create a new job`, {
        status: record.status,
      })
    }
    // Without a checkpoint an interrupted job starts over from step 0.
    const config = { ...record.config, resumeFrom: checkpoint?.name ?? null }
    writeConfigFile(this.jobDir(jobId), config)
    const step = checkpoint?.step ?? 0
    this.store.transaction(() => {
      this.store.metrics.deleteAfter(jobId, step)
      this.store.jobs.update(jobId, { status: 'queued', config, step, error: null, finishedAt: null, adapterPath: null })
      this.renumber([jobId, ...this.store.jobs.queued().map((job) => job.id).filter((id) => id !== jobId)])
    })
    const job = this.emitUpdated(jobId)
    this.schedule()
    return job
  }

  /** Cancels a job: at once when it waits, with escalation when its trainer runs. */
  cancel(jobId: string): Job {
    const record = this.record(jobId)
    const run = this.runs.get(jobId)
    if (run !== undefined) {
      run.cancel()
      return toJob(record)
    }
    if (!canDo('cancel', record.status)) throw refusal(record, 'cancel', 'it cannot be cancelled')
    this.launching.delete(jobId)
    this.store.transaction(() => {
      this.store.jobs.update(jobId, { status: 'cancelled', finishedAt: Date.now(), queuePosition: null })
      this.renumber(this.store.jobs.queued().map((job) => job.id))
    })
    const job = this.emitUpdated(jobId)
    this.schedule()
    return job
  }

  /** What the trainer said beyond the loss curve; see electron/shared/report.ts. */
  report(jobId: string): JobReport {
    this.record(jobId)
    return buildReport(this.store, jobId)
  }

  /** Asks a running trainer to save checkpoints/<name>; it appears when the trainer reports it. */
  checkpoint(jobId: string, name: string): void {
    const record = this.record(jobId)
    const run = this.runs.get(jobId)
    if (run === undefined || record.status !== 'running') {
      throw appError('conflict', `${describeJob(record)}; checkpoints can be saved only while it is running`, { status: record.status })
    }
    const problem = checkpointNameProblem(name)
    if (problem !== undefined) throw appError('invalid_input', `name: ${problem}`, { fields: { name: problem } })
    run.checkpoint(name)
  }

  /** The job's checkpoints that are whole on disk, oldest step first. */
  checkpoints(jobId: string): Checkpoint[] {
    this.record(jobId)
    return presentCheckpoints(this.store, jobId, this.jobDir(jobId))
  }

  /** Deletes a checkpoint folder and its row, unless the job or another one still needs it. */
  deleteCheckpoint(jobId: string, name: string): void {
    deleteCheckpoint(this.store, this.record(jobId), this.jobDir(jobId), name)
  }

  /** Deletes a job that is not training, its files and rows; every window is told (job.deleted). */
  delete(jobId: string): void {
    const record = this.record(jobId)
    // A job reported done may still have its process flushing the terminal into the folder.
    if (this.runs.has(jobId) && !liveStatuses.includes(record.status)) throw appError('conflict', `${describeJob(record)} but its trainer has not exited yet; delete it in a moment`, { status: record.status })
    this.launching.delete(jobId)
    deleteJob(this.store, record, this.jobDir(jobId), () => this.renumber(this.store.jobs.queued().map((job) => job.id)))
    this.options.emit('job.deleted', { jobId })
  }

  /** Bytes each job's folder takes (checkpoints, adapter, logs), by job id. */
  async diskUsage(): Promise<Record<string, number>> {
    const jobs = this.store.jobs.list()
    return Object.fromEntries(await Promise.all(jobs.map(async (job) => [job.id, await folderBytes(this.jobDir(job.id))] as const)))
  }

  /** Moves a queued job to `position` (1-based) and returns the queued jobs in their new order. */
  move(jobId: string, position: number): Job[] {
    const record = this.record(jobId)
    if (record.status !== 'queued') {
      throw appError('conflict', `${describeJob(record)}; only queued jobs can be moved`, { status: record.status })
    }
    const order = this.store.jobs.queued().map((job) => job.id).filter((id) => id !== jobId)
    order.splice(Math.max(0, Math.min(position - 1, order.length)), 0, jobId)
    this.renumber(order)
    return this.store.jobs.queued().map(toJob)
  }

  queueState(): QueueState {
    const stored = queueStateSchema.safeParse(this.store.settings.get<unknown>(queueKey, defaultQueue))
    return stored.success ? stored.data : defaultQueue
  }

  /** Stops or starts taking queued jobs, or changes how many run at once. Running jobs go on. */
  setQueue(change: Partial<QueueState>): QueueState {
    const parsed = queueStateSchema.partial().safeParse(change)
    if (!parsed.success) throw validationError(parsed.error.issues, 'Queue settings')
    const next = { ...this.queueState(), ...parsed.data }
    this.store.settings.set(queueKey, next)
    // Every window shows the queue's state, not only the one that changed it.
    this.options.emit('queue.updated', next)
    this.schedule()
    return next
  }

  presets(): Preset[] {
    return loadPresets(this.options.resourcesDir)
  }

  /** The self-test's own settings (resources/selftest/job.json), as the merge layers them. */
  selftestSettings(): JobSettings {
    return readSelftestFile(this.options.resourcesDir).settings
  }

  private jobDir(jobId: string): string {
    return path.join(this.options.dataDir, 'jobs', jobId)
  }

  private record(jobId: string): JobRecord {
    const record = this.store.jobs.get(jobId)
    if (record === undefined) throw appError('not_found', `There is no job with id ${jobId}`, { jobId })
    return record
  }

  private update(jobId: string, patch: Partial<JobRecord>): JobRecord {
    this.store.jobs.update(jobId, patch)
    this.emitUpdated(jobId)
    return this.record(jobId)
  }

  private emitUpdated(jobId: string): Job {
    const job = toJob(this.record(jobId))
    this.options.emit('job.updated', job)
    return job
  }

  /** Rewrites the queue order and tells every window about each job whose place changed. */
  private renumber(order: string[]): void {
    const before = new Map(this.store.jobs.queued().map((job) => [job.id, job.queuePosition]))
    this.store.jobs.renumberQueue(order)
    for (const job of this.store.jobs.queued()) {
      if (before.get(job.id) !== job.queuePosition) this.options.emit('job.updated', toJob(job))
    }
  }

  /** Starts queued jobs, in queue order, while fewer than `concurrency` run. */
  private schedule(): void {
    if (!this.accepting) return
    const { running, concurrency } = this.queueState()
    if (!running) return
    for (const next of this.store.jobs.queued()) {
      if (this.runs.size + this.launching.size >= concurrency) break
      const launch = this.launch(next)
      this.launches.add(launch)
      void launch.finally(() => this.launches.delete(launch))
    }
  }

  private async launch(queued: JobRecord): Promise<void> {
    const id = queued.id
    this.launching.add(id)
    this.store.transaction(() => {
      this.store.jobs.update(id, { status: 'starting', queuePosition: null, startedAt: queued.startedAt ?? Date.now(), error: null, finishedAt: null })
      this.renumber(this.store.jobs.queued().map((job) => job.id))
    })
    this.emitUpdated(id)
    let command: TrainerCommand
    try {
      await this.options.beforeLaunch?.(queued.name).catch(() => undefined)
      command = await this.command(this.jobDir(id))
    } catch (error) {
      this.launching.delete(id)
      const problem: AppError = isAppError(error) ? error : appError('internal', (error as Error).message)
      if (this.accepting && this.store.jobs.get(id)?.status === 'starting') {
        this.update(id, { status: 'failed', finishedAt: Date.now(), error: { message: problem.message, traceback: null, field: null } })
        this.schedule()
      }
      return
    }
    // While we waited, the job may have been cancelled or the service stopped.
    if (!this.launching.delete(id)) return
    if (!this.accepting) {
      this.update(id, { status: 'queued' })
      this.renumber([id, ...this.store.jobs.queued().map((job) => job.id).filter((other) => other !== id)])
      return
    }
    let run: JobRun
    try {
      run = new JobRun({
        store: this.store,
        jobId: id,
        jobDir: this.jobDir(id),
        command,
        env: this.environment(),
        emit: this.options.emit,
        watchdogSeconds: this.watchdogSeconds,
      })
    } catch (error) {
      const message = `could not start the trainer (${command.file}): ${(error as Error).message}`
      this.update(id, { status: 'failed', finishedAt: Date.now(), error: { message, traceback: null, field: null } })
      this.schedule()
      return
    }
    this.runs.set(id, run)
    void run.ended.then(() => {
      this.runs.delete(id)
      this.schedule()
    })
  }

  private async command(jobDir: string): Promise<TrainerCommand> {
    if (this.options.trainerCommand) return this.options.trainerCommand(jobDir)
    const python = await this.options.resolvePython()
    return { file: python, args: ['-m', 'tunedeck_trainer', 'train', '--job-dir', jobDir] }
  }

  private environment(): Record<string, string> {
    // HF_HUB_OFFLINE: a job never downloads mid-training; hub ids resolve from the cache only.
    // TUNEDECK_ENCODED_CACHE: a dataset is encoded once for every job on the same data and model.
    // experimentLogs: the user's MLFLOW_* and WANDB_* settings turn those logs on for the job.
    return childEnvironment({
      PYTHONPATH: this.options.pythonRuntimeDir,
      PYTHONUNBUFFERED: '1',
      HF_HUB_OFFLINE: '1',
      TUNEDECK_ENCODED_CACHE: encodedCacheFolder(this.options.dataDir),
    }, { experimentLogs: true })
  }
}
