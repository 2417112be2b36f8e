/**
 * Export of a job: the Python step fills a staging folder, the host adds the job's files, the
 * Modelfile and the card, hashes everything into manifest.json, streams the zip to
 * "<destination>.partial", reopens it to check it against the manifest, and only then renames
 * it into place. A failure or a cancel removes the partial file and the staging folder; a host
 * that died mid-export has its partial file removed by the next one (partials.ts).
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Writable } from 'node:stream'
import { appError, isAppError } from '@shared/errors'
import {
  compatibilitySchema,
  type ExportPlan,
  type ExportProgress,
  type ExportResult,
  type HubPushResult,
  type hubPushRequestSchema,
  type exportRequestSchema,
  type exportSourceSchema,
} from '@shared/exports'
import type { Job } from '@shared/jobs'
import type { z } from 'zod'
import { exportEntries } from './entries'
import { cardMetadata, pushToHub, type Reporter } from './push'
import { removeAbandoned } from '../abandoned'
import { forgetPartial, recordPartial, removeAbandonedPartials } from './partials'
import { preparedSchema } from './prepared'
import { runExportPython, type ExportPythonOptions } from './python'
import { defaultDestination, exportSource, type ExportSource } from './sources'
import { openPartial, verifyZip, writeZip } from './zip'

/** What the export service needs from the host. */
export interface ExportServiceOptions extends ExportPythonOptions {
  dataDir: string
  appVersion: string
  getJob: (jobId: string) => Job | Promise<Job>
  emit: (progress: ExportProgress) => void
  /** The Hugging Face token of the Models page, for a push. */
  readToken?: () => Promise<string | null>
  /** Opens the .partial file for writing; tests pass a stream on a full device. */
  openOutput?: (partialPath: string) => Writable
}

type ExportRequest = z.output<typeof exportRequestSchema>
type ExportSourceInput = z.output<typeof exportSourceSchema>
type HubPushRequestOutput = z.output<typeof hubPushRequestSchema>

const progressIntervalMs = 200

/** Runs exports, at most one per job at a time. */
export class ExportService {
  private readonly running = new Map<string, AbortController>()

  constructor(private readonly options: ExportServiceOptions) {
    removeAbandonedStaging(path.join(options.dataDir, 'exports'))
    removeAbandonedPartials(options.dataDir)
  }

  /** The compatibility report and the default destination, before anything is written. */
  async plan(input: ExportSourceInput): Promise<ExportPlan> {
    const job = await this.options.getJob(input.jobId)
    const source = exportSource(this.options.dataDir, job, input.checkpoint)
    const raw = await runExportPython(this.options, ['inspect', ...this.sourceArgs(job, source)])
    return {
      compatibility: compatibilitySchema.parse(raw),
      defaultDestination: defaultDestination(this.options.dataDir, job, input.checkpoint),
      defaultMergedDestination: defaultDestination(this.options.dataDir, job, input.checkpoint, true),
    }
  }

  /** Asks the job's export to stop; start() then rejects once its files are gone. False when none was running. */
  cancel(jobId: string): boolean {
    const controller = this.running.get(jobId)
    if (!controller) return false
    controller.abort(appError('conflict', 'The export was cancelled.'))
    return true
  }

  /** Cancels every running export (the host is stopping); their files are removed as they stop. */
  shutdown(): void {
    for (const jobId of [...this.running.keys()]) this.cancel(jobId)
  }

  /** Writes, verifies and renames the zip; resolves with where it is. */
  async start(request: ExportRequest): Promise<ExportResult> {
    const job = await this.options.getJob(request.jobId)
    const source = exportSource(this.options.dataDir, job, request.checkpoint)
    if (this.running.has(job.id)) {
      throw appError('conflict', `An export of job "${job.name}" is already running: wait for it to finish or cancel it first.`)
    }
    if (request.merged && request.ggufType) {
      throw appError('invalid_input', 'ggufType: the merged GGUF comes with the adapter export; untick "Merged model" to write it.', {
        fields: { ggufType: 'not with merged' },
      })
    }
    const destination =
      request.destination ?? defaultDestination(this.options.dataDir, job, request.checkpoint, request.merged, request.ggufType ?? null)
    checkDestination(destination)
    // From here on, the finally below releases the job.
    const controller = new AbortController()
    this.running.set(job.id, controller)
    const partial = `${destination}.partial`
    const staging = path.join(this.options.dataDir, 'exports', `.staging-${job.id}-${process.pid}-${Date.now()}`)
    let ownsPartial = false
    let record: string | null = null
    const report = this.reporter(job.id)
    try {
      claimPartial(partial)
      ownsPartial = true
      record = recordPartial(this.options.dataDir, partial)
      const prepared = await this.prepare(job, source, staging, request.merged, controller.signal, report, request.ggufType ?? null)
      report({ phase: 'hashing', message: 'hashing the files' })
      const entries = await exportEntries(
        { job, source, staging, prepared, merged: request.merged, appVersion: this.options.appVersion },
        controller.signal,
      )
      const total = entries.reduce((sum, entry) => sum + entry.bytes, 0)
      checkSpace(path.dirname(partial), total)
      report({ phase: 'zipping', bytesTotal: total })
      const output = (this.options.openOutput ?? openPartial)(partial)
      const bytes = await writeZip(entries, output, {
        signal: controller.signal,
        onBytes: (done) => report({ phase: 'zipping', bytesDone: done, bytesTotal: Math.max(total, done) }, true),
      })
      report({ phase: 'verifying', bytesDone: bytes, bytesTotal: bytes })
      const files = await verifyZip(partial, controller.signal)
      fs.renameSync(partial, destination)
      ownsPartial = false
      report({ phase: 'done', bytesDone: bytes, bytesTotal: bytes, message: destination })
      return { path: destination, bytes, files, merged: request.merged, compatibility: prepared.compatibility }
    } catch (error) {
      const failure = controller.signal.aborted ? controller.signal.reason : explain(error, partial)
      report({
        phase: controller.signal.aborted ? 'cancelled' : 'failed',
        message: (failure as { message?: string }).message ?? String(failure),
      })
      throw failure
    } finally {
      if (ownsPartial) fs.rmSync(partial, { force: true })
      if (record) forgetPartial(record)
      fs.rmSync(staging, { recursive: true, force: true })
      this.running.delete(job.id)
    }
  }

  /**
   * Uploads the export's files (hubLayout) to a Hugging Face repository with the Models page's
   * token, private by default; one commit at the end, so a push that fails or is cancelled leaves
   * the repository as it was, and its message names the files that had been sent.
   */
  async push(request: HubPushRequestOutput): Promise<HubPushResult> {
    const token = (await this.options.readToken?.()) ?? null
    if (!token) {
      throw appError('invalid_input', 'No Hugging Face token: add one with write access on the Models page, then push again.', {
        fields: { token: 'missing' },
      })
    }
    const job = await this.options.getJob(request.jobId)
    const source = exportSource(this.options.dataDir, job, request.checkpoint)
    if (this.running.has(job.id)) {
      throw appError('conflict', `An export of job "${job.name}" is already running: wait for it to finish or cancel it first.`)
    }
    const controller = new AbortController()
    this.running.set(job.id, controller)
    const staging = path.join(this.options.dataDir, 'exports', `.staging-${job.id}-${process.pid}-${Date.now()}`)
    const report = this.reporter(job.id)
    try {
      const prepared = await this.prepare(job, source, staging, request.merged, controller.signal, report)
      report({ phase: 'hashing', message: 'hashing the files' })
      const entries = await exportEntries(
        { job, source, staging, prepared, merged: request.merged, appVersion: this.options.appVersion },
        controller.signal,
      )
      const metadata = cardMetadata(prepared.baseModel, request.merged)
      const result = await pushToHub(this.options, {
        entries,
        metadata,
        folder: path.join(staging, 'hub'),
        repo: request.repo,
        private: request.private,
        token,
        signal: controller.signal,
        report,
      })
      report({ phase: 'done', bytesDone: 0, bytesTotal: 0, message: result.url })
      return result
    } catch (error) {
      const failure = error as { message?: string }
      report({ phase: controller.signal.aborted ? 'cancelled' : 'failed', message: failure.message ?? String(error) })
      throw error
    } finally {
      fs.rmSync(staging, { recursive: true, force: true })
      this.running.delete(job.id)
    }
  }

  /** The Python step: adapter, tokenizer, GGUF adapter and (merged) the merged model, into ``staging``. */
  private async prepare(
    job: Job,
    source: ExportSource,
    staging: string,
    merged: boolean,
    signal: AbortSignal,
    report: Reporter,
    ggufType: string | null = null,
  ) {
    report({ phase: 'preparing', message: 'checking the adapter and the base model' })
    const args = ['prepare', ...this.sourceArgs(job, source), '--out', staging, '--base-name', job.config.model.path]
    if (merged) args.push('--merged')
    if (ggufType) args.push('--gguf-type', ggufType)
    return preparedSchema.parse(
      await runExportPython(this.options, args, {
        signal,
        onPhase: (phase) =>
          report({ phase: 'preparing', message: (Object.hasOwn(phaseText, phase) ? phaseText[phase] : undefined) ?? phase }),
      }),
    )
  }

  private sourceArgs(job: Job, source: ExportSource): string[] {
    return ['--adapter', source.adapterDir, '--base', job.config.model.path, '--job-dir', source.jobDir]
  }

  /** Emits progress, at most every 200 ms for byte counts (``throttled``). */
  private reporter(jobId: string) {
    let last = 0
    let state: ExportProgress = { jobId, phase: 'preparing', bytesDone: 0, bytesTotal: 0, message: null }
    return (change: Partial<ExportProgress>, throttled = false) => {
      state = { ...state, message: null, ...change }
      const now = Date.now()
      if (throttled && now - last < progressIntervalMs) return
      last = now
      this.options.emit(state)
    }
  }
}

/** Staging folders left by a host that died mid-export (its pid is in the name and gone). */
function removeAbandonedStaging(folder: string): void {
  removeAbandoned(folder, (name) => Number(/^\.staging-.+-(\d+)-\d+$/.exec(name)?.[1]) || undefined)
}

const phaseText: Record<string, string> = {
  adapter: 'copying the adapter and tokenizer',
  gguf: 'writing the GGUF adapter',
  merge: 'merging the adapter into the base model',
  'merge-gguf': 'merging the adapter into the base model for the GGUF',
  'gguf-write': 'writing the merged GGUF',
  quantize: "quantizing with llama.cpp's llama-quantize",
}

/** A full path ending in .zip: the host's working folder means nothing to the person typing it. */
function checkDestination(destination: string): void {
  const fields = (problem: string) => ({ fields: { destination: problem } })
  if (!path.isAbsolute(destination)) {
    throw appError(
      'invalid_input',
      `destination: "${destination}" is not a full path; give one such as ${path.join(path.sep, 'home', 'me', 'model.zip')}.`,
      fields('not a full path'),
    )
  }
  if (!destination.toLowerCase().endsWith('.zip')) {
    throw appError('invalid_input', `destination: "${destination}" does not end in .zip; the export is a zip file.`, fields('not a .zip'))
  }
}

/** Creates the .partial file, so that an unwritable place or a second export there fails before any work. */
function claimPartial(partial: string): void {
  const field = { fields: { destination: 'not writable' } }
  const refuse = (error: unknown) =>
    appError(
      'invalid_input',
      `destination: cannot write ${partial} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): choose a folder you can write to.`,
      field,
    )
  try {
    fs.mkdirSync(path.dirname(partial), { recursive: true })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw appError(
      'invalid_input',
      `destination: cannot make the folder ${path.dirname(partial)} (${code}): a file is in its way or it is not writable; choose another folder.`,
      field,
    )
  }
  try {
    fs.closeSync(fs.openSync(partial, 'wx'))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') {
      throw appError(
        'conflict',
        `${partial} exists: another export is writing there, or one was interrupted. Wait for it, or delete the file.`,
        field,
      )
    }
    throw refuse(error)
  }
}

/** Refuses up front when the destination's disk clearly cannot hold the zip. */
function checkSpace(folder: string, bytes: number): void {
  const stats = fs.statfsSync(folder)
  const free = stats.bavail * stats.bsize
  if (free < bytes) throw diskFull(folder, bytes - free)
}

function diskFull(folder: string, missing: number | null) {
  const need = missing === null ? '' : ` ${(missing / 1e9).toFixed(2)} GB more`
  return appError(
    'invalid_input',
    `destination: the disk holding ${folder} is full: free${need} space there or choose another destination.`,
    {
      fields: { destination: 'disk full' },
    },
  )
}

/** Turns a file-system error into a message naming the place and what to do. */
function explain(error: unknown, partial: string): unknown {
  if (isAppError(error)) return error
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ENOSPC' || code === 'EDQUOT') return diskFull(path.dirname(partial), null)
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return appError('invalid_input', `destination: cannot write ${partial} (${code}): choose a folder you can write to.`, {
      fields: { destination: 'not writable' },
    })
  }
  return error
}
