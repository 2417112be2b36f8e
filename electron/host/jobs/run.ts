/**
 * One live job: its trainer process, the tail of its events file and its
 * watchdog. The run ends when the process has exited and the rest of the
 * events file has been ingested; it then settles the job's final state from
 * the last final event, cross-checked with the exit code.
 */
import path from 'node:path'
import type { EventName, EventPayload } from '@shared/events'
import type { MetricPoint } from '@shared/jobs'
import { exitCodes, type TrainerEvent } from '@shared/protocol'
import { toJob, type JobRecord, type Store } from '../store'
import { TrainerProcess, type TrainerCommand, type TrainerExit } from '../trainer/process'
import { EventTailer, type InvalidLine } from '../trainer/tailer'
import { TerminalLog } from '../trainer/terminal'
import { ingestEvents } from './ingest'
import { reduce, type Broadcast, type StopReason } from './lifecycle'
import { buildReport } from './report'

/** Sends one event to every connected renderer. */
export type Emit = <E extends EventName>(event: E, payload: EventPayload<E>) => void

export interface JobRunOptions {
  store: Store
  jobId: string
  jobDir: string
  command: TrainerCommand
  env: Record<string, string>
  emit: Emit
  watchdogSeconds: number
}

/** How many invalid event lines a run notes in the terminal before it only counts them. */
const invalidNotesLimit = 5

/** A host note in the terminal, told apart from the trainer's own output. */
function note(text: string): string {
  return `\r\n\x1b[33m[tunedeck host] ${text}\x1b[0m\r\n`
}

/** The supervision of one trainer process. */
export class JobRun {
  /** Resolves with the job's final record once the process is gone and its events are ingested. */
  readonly ended: Promise<JobRecord>
  private readonly process: TrainerProcess
  private readonly tailer: EventTailer
  private readonly terminal: TerminalLog
  private lastLineAt = Date.now()
  private finalEvent: TrainerEvent | null = null
  private stopReason: StopReason | null = null
  private invalidLines = 0
  /** Set when the service let go of the run (its database is closing): nothing is stored any more. */
  private detached = false

  constructor(private readonly options: JobRunOptions) {
    const { store, jobId, jobDir } = options
    this.terminal = new TerminalLog(jobDir)
    const record = store.jobs.get(jobId)
    if (record === undefined) throw new Error(`cannot run unknown job ${jobId}`)
    this.tailer = new EventTailer({
      file: path.join(jobDir, 'events.jsonl'),
      offset: record.eventsOffset,
      onBatch: (batch) => this.ingest(batch.events, batch.offset),
      onInvalid: (invalid) => this.noteInvalid(invalid),
    })
    let resolveEnded: (record: JobRecord) => void = () => undefined
    this.ended = new Promise((resolve) => (resolveEnded = resolve))
    this.process = new TrainerProcess({
      command: options.command,
      cwd: jobDir,
      env: options.env,
      onData: (data) => this.print(data),
      onExit: (exit) => {
        if (!this.detached) resolveEnded(this.settle(exit))
      },
    })
    store.jobs.update(jobId, { pid: this.process.pid, pidStartTime: this.process.startTime })
    this.tailer.start()
  }

  get pid(): number {
    return this.process.pid
  }

  /** Asks the trainer to save a pause checkpoint and exit. */
  pause(): void {
    this.process.send({ cmd: 'pause' })
  }

  /** Asks the trainer to save a named checkpoint and go on. */
  checkpoint(name: string): void {
    this.process.send({ cmd: 'checkpoint', name })
  }

  /** Cancels with escalation: command, Ctrl-C after 3 s, the whole tree killed after 7 s. */
  cancel(): void {
    this.stopReason = 'cancel'
    this.process.cancel()
  }

  /** Marks the stop as part of shutting down, so an exit without a final event reads as interrupted. */
  shutdown(): void {
    this.stopReason ??= 'shutdown'
  }

  /** Kills the process tree now. */
  kill(): void {
    this.process.kill()
  }

  /** Stops following the process without storing anything more; for a shutdown that cannot wait longer. */
  detach(): void {
    this.detached = true
    this.tailer.stopWithoutReading()
  }

  /** Called about once a second: ends a trainer that has gone silent, and keeps track of its process tree. */
  tick(now: number): void {
    if (!this.process.running) return
    this.process.remember()
    const silentMs = now - this.lastLineAt
    if (this.stopReason === null && silentMs > this.options.watchdogSeconds * 1000) {
      this.stopReason = 'watchdog'
      this.print(note(`no event or heartbeat for ${this.options.watchdogSeconds} s: stopping the trainer`))
      this.process.kill()
    }
  }

  private print(data: string): void {
    this.terminal.append(data)
    this.options.emit('job.terminal', { jobId: this.options.jobId, data })
  }

  private ingest(events: TrainerEvent[], offset: number): void {
    if (this.detached) return
    this.lastLineAt = Date.now()
    const cancelling = this.stopReason === 'cancel'
    const result = ingestEvents(this.options.store, this.options.jobId, this.options.jobDir, events, offset, { cancelling })
    if (result.final !== null) this.finalEvent = result.final
    this.broadcast(result.broadcast, result.record, result.points)
  }

  /** Tells every window what a change made due. */
  private broadcast(due: ReadonlySet<Broadcast>, record: JobRecord, points: MetricPoint[] = []): void {
    const { jobId, emit, store } = this.options
    if (due.has('job.metrics')) emit('job.metrics', { jobId, points })
    if (due.has('job.updated')) emit('job.updated', toJob(record))
    if (due.has('job.report')) emit('job.report', buildReport(store, jobId))
  }

  private noteInvalid(invalid: InvalidLine): void {
    this.invalidLines += 1
    if (this.invalidLines <= invalidNotesLimit) {
      this.print(note(`events.jsonl line ${invalid.line} is not a valid trainer event (${invalid.problem}); skipped`))
    }
  }

  /** Settles the job once the process is gone: the rest of its events, then the exit (lifecycle.ts decides the state). */
  private settle(exit: TrainerExit): JobRecord {
    const { store, jobId, watchdogSeconds } = this.options
    this.tailer.stop() // reads whatever the trainer wrote last
    const final = this.finalEvent
    if (final !== null) {
      const expected = exitCodes[final.type as keyof typeof exitCodes]
      if (exit.signal !== null || exit.exitCode !== expected) {
        const how = exit.signal !== null ? `was killed by signal ${exit.signal}` : `exited with code ${exit.exitCode}`
        this.print(note(`the trainer reported ${final.type} but ${how} (expected code ${expected})`))
      }
    }
    const terminalTail = this.terminal.lastLines(20).join('\n') || null
    const event = { type: 'exit', exit, stopReason: this.stopReason, reportedFinal: final !== null, watchdogSeconds, terminalTail } as const
    const change = reduce(store.jobs.get(jobId) as JobRecord, event, { now: Date.now() })
    const record = store.jobs.update(jobId, change.fields)
    this.broadcast(new Set(change.broadcast), record)
    return record
  }
}
