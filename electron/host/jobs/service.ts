/**
 * The job routes: every jobs.*, queue.* and presets.* route is answered
 * here, in a few lines each. The queue and the trainers are queue.ts's; what
 * each event does to a job's status is lifecycle.ts's. Errors are thrown as
 * AppError values ({code, message, data}), which the transports send on
 * unchanged.
 */
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { appError, type AppError } from '@shared/errors'
import type { JobSettings } from '@shared/config'
import type { JobReport } from '@shared/report'
import { liveStatuses, type Checkpoint, type Job, type MetricPoint, type NewJobInput, type Preset, type QueueState } from '@shared/jobs'
import { canDo, transitionProblem, type JobAction } from '@shared/jobStates'
import { Store, newJobRecord, toJob, type JobRecord } from '../store'
import { folderBytes } from '../folderBytes'
import { TerminalLog } from '../trainer/terminal'
import { readEvents } from '../trainer/tailer'
import { deleteCheckpoint, describeJob, presentCheckpoints } from './catalog'
import { checkpointNameProblem, resumeCheckpoint } from './checkpoints'
import { copyRun, writeBundle } from './bundle'
import { buildJobConfig, loadPresets, readSelftestFile, writeConfigFile } from './config'
import { ingestEvents } from './ingest'
import { checkMethodFits } from './methodFit'
import { JobQueue, type JobServiceOptions } from './queue'
import { deleteJob } from './removal'
import { buildReport } from './report'

export type { Emit } from './run'
export type { JobServiceOptions } from './queue'

let lastIdTime = 0

/**
 * A new job id: creation time in ms, base36, then random characters. The
 * time never repeats within a process, so ids sort in creation order.
 */
function newJobId(): string {
  lastIdTime = Math.max(Date.now(), lastIdTime + 1)
  const random = BigInt('0x' + randomBytes(5).toString('hex'))
    .toString(36)
    .padStart(8, '0')
    .slice(-8)
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

/** The job routes over the queue. Call start() once before use and shutdown() on exit. */
export class JobService {
  private readonly store: Store
  private readonly queue: JobQueue

  constructor(private readonly options: JobServiceOptions) {
    this.store = Store.open(options.dataDir)
    this.queue = new JobQueue(this.store, options)
  }

  /** Crash recovery, then the queue starts taking jobs. */
  start(): Promise<void> {
    return this.queue.start()
  }

  /** Pauses every live job, waits for them (killing what is left), and closes the database. */
  shutdown(): Promise<void> {
    return this.queue.shutdown()
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
    const job = this.queue.emitUpdated(id)
    this.queue.schedule()
    return job
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
    this.store.jobs.insert(
      newJobRecord({ id, name: `Imported from ${path.basename(path.resolve(from))}`, status: 'running', config, createdAt: Date.now() }),
    )
    const batch = readEvents(path.join(dir, 'events.jsonl'), 0, () => undefined)
    ingestEvents(this.store, id, dir, batch.events, batch.offset)
    // No process runs it here: a run without a final event reads as interrupted.
    this.queue.apply(id, { type: 'lost' })
    return this.queue.emitUpdated(id)
  }

  /** Every job, newest first. */
  list(): Job[] {
    return this.store.jobs.list().map(toJob)
  }

  get(jobId: string): Job {
    return toJob(this.record(jobId))
  }

  /** Every stored step of the job, in order (they survive pauses and resumes); about `maxPoints` of them when given (sampleMetrics). */
  metrics(jobId: string, maxPoints?: number): MetricPoint[] {
    this.record(jobId)
    return maxPoints === undefined ? this.store.metrics.list(jobId) : this.store.metrics.sampled(jobId, maxPoints)
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
    const run = this.queue.running(jobId)
    if (run === undefined || !canDo('pause', record.status)) throw refusal(record, 'pause', 'only a running job can be paused')
    run.pause()
    return toJob(this.queue.apply(jobId, { type: 'pauseRequest' }))
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
      this.queue.apply(jobId, { type: 'resumeRequest', config, step })
      this.queue.renumber([jobId, ...this.queue.queuedIds().filter((id) => id !== jobId)])
    })
    // The answer is the job as resumed, before the queue may launch it.
    const job = this.get(jobId)
    this.queue.schedule()
    return job
  }

  /** Cancels a job: at once when it waits, with escalation when its trainer runs. */
  cancel(jobId: string): Job {
    const record = this.record(jobId)
    const run = this.queue.running(jobId)
    if (run !== undefined) {
      run.cancel()
      return toJob(record)
    }
    if (!canDo('cancel', record.status)) throw refusal(record, 'cancel', 'it cannot be cancelled')
    this.queue.forget(jobId)
    this.store.transaction(() => {
      this.queue.apply(jobId, { type: 'cancelRequest' })
      this.queue.renumber(this.queue.queuedIds())
    })
    const job = this.get(jobId)
    this.queue.schedule()
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
    const run = this.queue.running(jobId)
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
    if (this.queue.running(jobId) !== undefined && !liveStatuses.includes(record.status))
      throw appError('conflict', `${describeJob(record)} but its trainer has not exited yet; delete it in a moment`, {
        status: record.status,
      })
    this.queue.forget(jobId)
    deleteJob(this.store, record, this.jobDir(jobId), () => this.queue.renumber(this.queue.queuedIds()))
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
    const order = this.queue.queuedIds().filter((id) => id !== jobId)
    order.splice(Math.max(0, Math.min(position - 1, order.length)), 0, jobId)
    this.queue.renumber(order)
    return this.store.jobs.queued().map(toJob)
  }

  queueState(): QueueState {
    return this.queue.queueState()
  }

  /** Stops or starts taking queued jobs, or changes how many run at once. Running jobs go on. */
  setQueue(change: Partial<QueueState>): QueueState {
    return this.queue.setQueue(change)
  }

  presets(): Preset[] {
    return loadPresets(this.options.resourcesDir)
  }

  /** The self-test's own settings (resources/selftest/job.json), as the merge layers them. */
  selftestSettings(): JobSettings {
    return readSelftestFile(this.options.resourcesDir).settings
  }

  private jobDir(jobId: string): string {
    return this.queue.jobDir(jobId)
  }

  private record(jobId: string): JobRecord {
    return this.queue.record(jobId)
  }
}
