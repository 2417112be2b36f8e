/**
 * Runs `python -m tunedeck_trainer.models` with the trainer's interpreter and hands each JSON
 * line it prints to the caller. Aborting sends SIGTERM, which the download answers by leaving at
 * once with its partial file kept for the next try.
 */
import { spawn } from 'node:child_process'
import { appError } from '@shared/errors'
import { onLines } from '../childLines'
import { childEnvironment } from '../childEnv'

/** How to reach the trainer's Python. */
export interface ModelsPythonOptions {
  resolvePython: () => Promise<string>
  pythonRuntimeDir: string
}

/** One line of the command's output. */
export type ModelsLine = { type: string } & Record<string, unknown>

/** What the command ended with. */
export interface ModelsRunResult {
  code: number | null
  /** The end of stderr: a traceback's last lines. */
  stderr: string
}

/**
 * Runs one command; `onLine` gets every JSON line of stdout as it comes. Only a `download` gets
 * a Hub token: the stored one, else the user's HF_TOKEN; every other command gets none.
 */
export async function runModelsPython(
  options: ModelsPythonOptions,
  args: string[],
  onLine: (line: ModelsLine) => void,
  download?: { token: string | null },
  signal?: AbortSignal,
): Promise<ModelsRunResult> {
  const python = await options.resolvePython()
  return await new Promise((resolve, reject) => {
    const child = spawn(python, ['-m', 'tunedeck_trainer.models', ...args], {
      env: childEnvironment(
        {
          PYTHONPATH: options.pythonRuntimeDir,
          PYTHONUNBUFFERED: '1',
          PYTHONIOENCODING: 'utf-8',
          // The host shows its own bar; huggingface_hub's would only fill stderr.
          HF_HUB_DISABLE_PROGRESS_BARS: '1',
          HF_HUB_DISABLE_TELEMETRY: '1',
          ...(download?.token ? { HF_TOKEN: download.token } : {}),
        },
        { hubToken: download !== undefined },
      ),
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    })
    let stderr = ''
    const onAbort = () => child.kill('SIGTERM')
    signal?.addEventListener('abort', onAbort, { once: true })
    const readLine = (text: string) => {
      if (!text.startsWith('{')) return
      try {
        onLine(JSON.parse(text) as ModelsLine)
      } catch {
        // A line that is not ours (a library printing to stdout) is skipped.
      }
    }
    onLines(child.stdout, readLine)
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-16_000)))
    child.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort)
      reject(
        appError(
          'python_missing',
          `Could not run ${python} for the model library: ${error.message}. Check the Python set-up or TUNEDECK_PYTHON.`,
        ),
      )
    })
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort)
      resolve({ code, stderr: stderr.trim().split('\n').slice(-6).join('\n') })
    })
  })
}
