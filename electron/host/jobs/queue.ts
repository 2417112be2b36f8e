/**
 * The queue and the launcher: which queued job starts next, the trainer
 * each live job runs, crash recovery at start and the pause-everything
 * shutdown. Every status it sets is a lifecycle.ts event, applied by apply().
 */
import path from 'node:path'
import { appError, isAppError, validationError, type AppError } from '@shared/errors'
import { queueStateSchema, type Job, type QueueState } from '@shared/jobs'
import { canDo } from '@shared/jobStates'
import { toJob, type JobRecord, type Store } from '../store'
import type { TrainerCommand } from '../trainer/process'
import { childEnvironment } from '../childEnv'
import { encodedCacheFolder } from '../datasets/encodedCache'
import { reduce, type HostEvent } from './lifecycle'
import { recoverJobs } from './recovery'
import { finishDeletions } from './removal'
import { JobRun, type Emit } from './run'

/** What the job service needs from its host. Paths are absolute. */
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

/** The queue of jobs and the trainers of the live ones. Call start() once before use and shutdown() on exit. */
export class JobQueue {
  private readonly runs = new Map<string, JobRun>()
  /** Jobs marked starting whose trainer is not spawned yet (waiting for the interpreter). */
  private readonly launching = new Set<string>()
  /** Launches in flight, which shutdown() lets finish before it closes the database. */
  private readonly launches = new Set<Promise<void>>()
  private accepting = false
  private ticker: NodeJS.Timeout | undefined
  private stopping: Promise<void> | undefined

  constructor(
    private readonly store: Store,
    private readonly options: JobServiceOptions,
  ) {}

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
        if (canDo('pause', this.record(id).status)) {
          run.pause()
          this.apply(id, { type: 'pauseRequest' })
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

  jobDir(jobId: string): string {
    return path.join(this.options.dataDir, 'jobs', jobId)
  }

  /** The job's record; a not_found AppError when there is none. */
  record(jobId: string): JobRecord {
    const record = this.store.jobs.get(jobId)
    if (record === undefined) throw appError('not_found', `There is no job with id ${jobId}`, { jobId })
    return record
  }

  /** Writes what `event` does to the job (lifecycle.ts decides) and tells every window when the job changed. */
  apply(jobId: string, event: HostEvent): JobRecord {
    const change = reduce(this.record(jobId), event, { now: Date.now() })
    const record = this.store.jobs.update(jobId, change.fields)
    if (change.broadcast.includes('job.updated')) this.options.emit('job.updated', toJob(record))
    return record
  }

  /** Tells every window the job as it is now. */
  emitUpdated(jobId: string): Job {
    const job = toJob(this.record(jobId))
    this.options.emit('job.updated', job)
    return job
  }

  /** The trainer run of a live job, if it has one. */
  running(jobId: string): JobRun | undefined {
    return this.runs.get(jobId)
  }

  /** Drops a pending launch of a job the user cancelled or deleted while its trainer was being prepared. */
  forget(jobId: string): void {
    this.launching.delete(jobId)
  }

  /** The ids of queued jobs in queue order. */
  queuedIds(): string[] {
    return this.store.jobs.queued().map((job) => job.id)
  }

  /** Rewrites the queue order and tells every window about each job whose place changed. */
  renumber(order: string[]): void {
    const before = new Map(this.store.jobs.queued().map((job) => [job.id, job.queuePosition]))
    this.store.jobs.renumberQueue(order)
    for (const job of this.store.jobs.queued()) {
      if (before.get(job.id) !== job.queuePosition) this.options.emit('job.updated', toJob(job))
    }
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

  /** Starts queued jobs, in queue order, while fewer than `concurrency` run. */
  schedule(): void {
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
      this.apply(id, { type: 'launch' })
      this.renumber(this.queuedIds())
    })
    let command: TrainerCommand
    try {
      await this.options.beforeLaunch?.(queued.name).catch(() => undefined)
      command = await this.command(this.jobDir(id))
    } catch (error) {
      this.launching.delete(id)
      const problem: AppError = isAppError(error) ? error : appError('internal', (error as Error).message)
      if (this.accepting && this.store.jobs.get(id) !== undefined) {
        this.apply(id, { type: 'launchFailed', message: problem.message })
        this.schedule()
      }
      return
    }
    // While we waited, the job may have been cancelled or the service stopped.
    if (!this.launching.delete(id)) return
    if (!this.accepting) {
      this.apply(id, { type: 'withdraw' })
      this.renumber([id, ...this.queuedIds().filter((other) => other !== id)])
      return
    }
    let run: JobRun
    try {
      const { store } = this
      const { emit, watchdogSeconds = 120 } = this.options
      run = new JobRun({ store, jobId: id, jobDir: this.jobDir(id), command, env: this.environment(), emit, watchdogSeconds })
    } catch (error) {
      this.apply(id, { type: 'launchFailed', message: `could not start the trainer (${command.file}): ${(error as Error).message}` })
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
    return childEnvironment(
      {
        PYTHONPATH: this.options.pythonRuntimeDir,
        PYTHONUNBUFFERED: '1',
        HF_HUB_OFFLINE: '1',
        TUNEDECK_ENCODED_CACHE: encodedCacheFolder(this.options.dataDir),
      },
      { experimentLogs: true },
    )
  }
}
