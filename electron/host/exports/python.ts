/**
 * Runs `python -m tunedeck_trainer.export` with the trainer's interpreter: the steps of an
 * export that need torch, peft or gguf. The child prints "TUNEDECK_EXPORT {json}" progress
 * lines, one "TUNEDECK_EXPORT_RESULT {json}" line, or "TUNEDECK_EXPORT_ERROR {json}" with a
 * message a person can act on (exit 2).
 */
import { spawn } from 'node:child_process'
import { appError } from '@shared/errors'
import { onLines } from '../childLines'
import { childEnvironment } from '../childEnv'

/** How to reach the trainer's Python. */
export interface ExportPythonOptions {
  /** The interpreter; rejects with a python_missing AppError when there is none. */
  resolvePython: () => Promise<string>
  /** Put on PYTHONPATH so `tunedeck_trainer` imports. */
  pythonRuntimeDir: string
}

const resultTag = 'TUNEDECK_EXPORT_RESULT '
const progressTag = 'TUNEDECK_EXPORT '
const errorTag = 'TUNEDECK_EXPORT_ERROR '

/**
 * Runs one export command and resolves with its result object. Aborting kills the child;
 * the promise then rejects with the signal's reason.
 */
export async function runExportPython(
  options: ExportPythonOptions,
  args: string[],
  handlers: {
    onPhase?: (phase: string) => void
    /** Every progress line's whole object (a push names each file it sent). */
    onProgress?: (progress: Record<string, unknown>) => void
    signal?: AbortSignal
    module?: string
    env?: Record<string, string>
  } = {},
): Promise<unknown> {
  const python = await options.resolvePython()
  handlers.signal?.throwIfAborted()
  return await new Promise((resolve, reject) => {
    const child = spawn(python, ['-m', handlers.module ?? 'tunedeck_trainer.export', ...args], {
      env: childEnvironment({
        PYTHONPATH: options.pythonRuntimeDir,
        PYTHONUNBUFFERED: '1',
        PYTHONIOENCODING: 'utf-8',
        HF_HUB_DISABLE_PROGRESS_BARS: '1',
        HF_HUB_DISABLE_TELEMETRY: '1',
        // A push's token comes here, not from the host's environment (childEnv.ts keeps that out).
        ...handlers.env,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    })
    let stderr = ''
    let result: unknown
    let userError: string | null = null
    const onAbort = () => child.kill('SIGKILL')
    handlers.signal?.addEventListener('abort', onAbort, { once: true })
    const readLine = (line: string) => {
      if (line.startsWith(resultTag)) result = JSON.parse(line.slice(resultTag.length))
      else if (line.startsWith(errorTag)) userError = String((JSON.parse(line.slice(errorTag.length)) as { message?: unknown }).message)
      else if (line.startsWith(progressTag)) {
        const progress = JSON.parse(line.slice(progressTag.length)) as Record<string, unknown>
        handlers.onPhase?.(String(progress.phase))
        handlers.onProgress?.(progress)
      }
    }
    onLines(child.stdout, readLine)
    // Keep only the end of stderr: a traceback's last lines say what went wrong.
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-16_000)))
    child.on('error', (error) => {
      handlers.signal?.removeEventListener('abort', onAbort)
      reject(
        appError('python_missing', `Could not run ${python} for the export: ${error.message}. Check the Python set-up or TUNEDECK_PYTHON.`),
      )
    })
    child.on('close', (code) => {
      handlers.signal?.removeEventListener('abort', onAbort)
      if (handlers.signal?.aborted) return reject(handlers.signal.reason)
      if (userError !== null) return reject(appError('invalid_input', userError))
      if (code === 0 && result !== undefined) return resolve(result)
      const detail = stderr.trim().split('\n').slice(-6).join('\n') || `exit code ${code}`
      reject(appError('internal', `The export's Python step failed:\n${detail}`))
    })
  })
}
