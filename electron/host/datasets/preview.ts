/**
 * datasets.preview: reads a dataset file with the trainer's own loader
 * (`python -m tunedeck_trainer.data preview`), so what the user previews is
 * exactly what would train. The child runs as a plain process (no pty) with
 * a time limit; its one JSON object on stdout becomes a DatasetPreview.
 */
import { execFile } from 'node:child_process'
import path from 'node:path'
import type { z } from 'zod'
import { datasetPreviewSchema, type BadRows, type DatasetPreview, type datasetPreviewInputSchema } from '@shared/datasets'
import { appError } from '@shared/errors'
import { onLines } from '../childLines'
import { regularOrFolder } from '../fileKind'
import { childEnvironment } from '../childEnv'

/** What the route passes in, defaults applied. */
export type DatasetPreviewInput = z.output<typeof datasetPreviewInputSchema>

/** What a preview needs from the host. */
export interface DatasetPreviewOptions {
  /** The interpreter; rejects with a python_missing AppError when there is none. */
  resolvePython: () => Promise<string>
  /** Put on PYTHONPATH so `tunedeck_trainer` imports. */
  pythonRuntimeDir: string
  /** Default 60 s: a multi-gigabyte file may be slow, but the form must not wait forever. */
  timeoutMs?: number
  /** Bytes read and the file's size, about four times a second (JSON Lines files only). */
  onProgress?: (done: number, total: number) => void
  /** Aborting it stops the child; the preview then rejects with "cancelled". */
  signal?: AbortSignal
  /** Only the format and columns, from a JSON Lines file's first rows: jobs.create's check of the method. */
  detectOnly?: boolean
}

/** The largest stdout accepted: 200 records of long conversations fit well inside it. */
const maxOutputBytes = 64 * 1024 * 1024

/** What the Python side prints; see python-runtime/tunedeck_trainer/data/preview.py. */
interface RawPreview {
  ok?: unknown
  path?: unknown
  format?: unknown
  rows?: unknown
  usable?: unknown
  skipped?: unknown
  columns?: unknown
  records?: unknown
  errors?: unknown
  tokens?: unknown
  tokenError?: unknown
  needsReading?: unknown
  sample?: unknown
  suggestion?: unknown
  mix?: unknown
  /** A string, or {row, unit, field, message} when the file as a whole failed. */
  error?: unknown
}

/** A preview that read nothing, carrying why. */
function failedPreview(file: string, badRows: BadRows, error: string): DatasetPreview {
  return {
    ok: false,
    path: file,
    format: null,
    badRows,
    rows: 0,
    usable: 0,
    skipped: 0,
    columns: [],
    records: [],
    errors: [],
    error,
    tokens: null,
    tokenError: null,
    needsReading: false,
    sample: [],
    suggestion: null,
    mix: null,
  }
}

/** A file that reads but fits no format: why, with its columns, first rows and a suggested reading. */
function unreadPreview(raw: RawPreview, file: string, badRows: BadRows): DatasetPreview {
  const parsed = datasetPreviewSchema.safeParse({
    ...failedPreview(file, badRows, errorText(raw.error)),
    needsReading: true,
    columns: raw.columns ?? [],
    sample: raw.sample ?? [],
    suggestion: raw.suggestion ?? null,
  })
  return parsed.success ? parsed.data : failedPreview(file, badRows, errorText(raw.error))
}

function errorText(error: unknown): string {
  if (typeof error === 'string') return error
  const message = (error as { message?: unknown } | null)?.message
  return typeof message === 'string' ? message : 'the dataset could not be read'
}

/** Maps the trainer's JSON onto the contract's shape, checking it on the way. */
function toPreview(raw: RawPreview, file: string, badRows: BadRows): DatasetPreview {
  if (raw.ok !== true)
    return raw.needsReading === true ? unreadPreview(raw, file, badRows) : failedPreview(file, badRows, errorText(raw.error))
  const parsed = datasetPreviewSchema.safeParse({
    ok: true,
    path: typeof raw.path === 'string' ? raw.path : file,
    format: raw.format ?? null,
    badRows,
    rows: raw.rows,
    usable: raw.usable,
    skipped: raw.skipped,
    columns: raw.columns ?? [],
    records: raw.records ?? [],
    errors: raw.errors ?? [],
    error: null,
    tokens: raw.tokens ?? null,
    tokenError: typeof raw.tokenError === 'string' ? raw.tokenError : null,
    mix: raw.mix ?? null,
  })
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw appError(
      'internal',
      `The trainer's dataset preview has an unexpected shape (${issue?.path.join('.')}: ${issue?.message}); is python-runtime up to date?`,
    )
  }
  return parsed.data
}

/** Runs the child and resolves with its exit code, stdout and stderr; never rejects for a non-zero exit. */
function runPreview(python: string, args: string[], env: NodeJS.ProcessEnv, options: DatasetPreviewOptions & { timeoutMs: number }) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean; cancelled: boolean; spawnError?: Error }>(
    (resolve) => {
      const { timeoutMs: timeout, signal, onProgress } = options
      const child = execFile(
        python,
        args,
        { env, timeout, signal, maxBuffer: maxOutputBytes, windowsHide: true },
        (error, stdout, stderr) => {
          const failure = error as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null
          const overflow = failure?.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER'
          const cancelled = failure?.code === 'ABORT_ERR'
          const timedOut = failure?.killed === true && !overflow && !cancelled
          const code = failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null
          // A string code other than the overflow or the abort is a spawn failure (ENOENT, EACCES).
          const spawnError = failure !== null && typeof failure.code === 'string' && !overflow && !cancelled ? failure : undefined
          resolve({ code, stdout: String(stdout), stderr: String(stderr), timedOut, cancelled, spawnError })
        },
      )
      if (onProgress && child.stderr) {
        onLines(child.stderr, (line) => {
          const progress = progressLine(line)
          if (progress) onProgress(progress.done, progress.total)
        })
      }
    },
  )
}

/** {"done": n, "total": n} as the preview's --progress prints it on stderr; null for any other line. */
function progressLine(line: string): { done: number; total: number } | null {
  if (!line.startsWith('{"done"')) return null
  try {
    const parsed = JSON.parse(line) as { done?: unknown; total?: unknown }
    return typeof parsed.done === 'number' && typeof parsed.total === 'number' ? { done: parsed.done, total: parsed.total } : null
  } catch {
    return null
  }
}

/**
 * Previews one dataset file (or save_to_disk folder) with the job's column
 * mapping. A missing file is an invalid_input naming `path`; a file the
 * loader cannot read comes back as ok:false with `error` saying why; bad rows
 * come back in `errors` with their line or row, whatever `badRows` says: the
 * trainer's preview reads them all, and with "fail" the first would stop the job.
 */
export async function previewDataset(input: DatasetPreviewInput, options: DatasetPreviewOptions): Promise<DatasetPreview> {
  const file = path.resolve(input.path.trim())
  const badRows = input.badRows ?? 'fail'
  // A pipe or device is refused here: the loader would wait on it until the time limit.
  if (!regularOrFolder(file)) {
    const message = `no dataset file at ${file}: choose an existing .jsonl, .json, .csv, .parquet or .txt file, or a folder saved with save_to_disk`
    throw appError('invalid_input', `path: ${message}`, { fields: { path: message } })
  }
  const args = ['-m', 'tunedeck_trainer.data', 'preview', '--path', file]
  if (input.format !== undefined) args.push('--format', input.format)
  if (input.columns !== undefined && Object.keys(input.columns).length > 0) args.push('--columns', JSON.stringify(input.columns))
  if (input.textSplit !== undefined) args.push('--text-split', input.textSplit)
  if (input.csvHeader !== undefined) args.push('--csv-header', input.csvHeader)
  if (input.limit !== undefined) args.push('--limit', String(input.limit))
  if (input.tokens !== undefined) {
    const tokens = input.tokens
    args.push('--tokens', String(tokens.shown ?? 3), '--max-seq-length', String(tokens.maxSeqLength ?? 2048))
    if (tokens.modelPath !== undefined) {
      regularOrFolder(path.resolve(tokens.modelPath), 'tokens.modelPath')
      args.push('--model', path.resolve(tokens.modelPath))
    }
    if (tokens.trainOnInputs === true) args.push('--train-on-inputs')
  }
  if (input.mix !== undefined && input.mix.length > 0) args.push(...mixArguments(input))
  const python = await options.resolvePython()
  const env = childEnvironment({ PYTHONPATH: options.pythonRuntimeDir, PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8' })
  if (options.onProgress) args.push('--progress')
  if (options.detectOnly === true) args.push('--detect')
  const timeoutMs = options.timeoutMs ?? 60_000
  const result = await runPreview(python, args, env, { ...options, timeoutMs })
  if (result.cancelled) throw appError('conflict', `The preview of ${path.basename(file)} was cancelled before it read the whole file.`)
  if (result.timedOut) {
    return failedPreview(
      file,
      badRows,
      `Reading ${path.basename(file)} took longer than ${Math.round(timeoutMs / 1000)} s and was stopped: try a smaller file or a faster disk.`,
    )
  }
  if (result.spawnError) {
    throw appError(
      'python_missing',
      `Could not run ${python} for the dataset preview: ${result.spawnError.message}. Check the Python set-up or TUNEDECK_PYTHON.`,
    )
  }
  // Exit 0: read (bad rows listed); 1: could not be read, still with JSON; anything else: a crash.
  let raw: RawPreview
  try {
    raw = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as RawPreview
  } catch {
    const detail = result.stderr.trim().split('\n').slice(-6).join('\n') || `exit code ${result.code}`
    throw appError('internal', `The dataset preview of ${file} failed:\n${detail}`)
  }
  return toPreview(raw, file, badRows)
}

/** The preview's --mix, --weight and --seed: the other datasets with absolute paths, each checked as `path` is. */
function mixArguments(input: DatasetPreviewInput): string[] {
  const mix = (input.mix ?? []).map((entry, index) => {
    const file = path.resolve(entry.path.trim())
    if (!regularOrFolder(file, `mix.${index}.path`)) {
      const message = `no dataset file at ${file}: choose an existing dataset for the mix`
      throw appError('invalid_input', `mix.${index}.path: ${message}`, { fields: { [`mix.${index}.path`]: message } })
    }
    return { ...entry, path: file }
  })
  return [
    '--mix',
    JSON.stringify(mix),
    ...(input.weight !== undefined ? ['--weight', String(input.weight)] : []),
    ...(input.seed !== undefined ? ['--seed', String(input.seed)] : []),
  ]
}
