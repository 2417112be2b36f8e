/**
 * Runs `python -m tunedeck_trainer.evaluation` for a finished job (its own process, one per job at
 * a time), forwards its progress, and reads the saved jobs/<id>/evaluation.json back. Cancel kills
 * the process; the previous evaluation file, if any, stays as it was (the new one is renamed in whole).
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { appError } from '@shared/errors'
import { evaluationSchema, type Evaluation } from '@shared/evaluation'
import { childEnvironment } from '../childEnv'
import { onLines } from '../childLines'

/** jobs/<id>/evaluation.json, or null when the job has none or it does not parse. */
export function readEvaluation(jobDir: string): Evaluation | null {
  try {
    return evaluationSchema.parse(JSON.parse(fs.readFileSync(path.join(jobDir, 'evaluation.json'), 'utf8')))
  } catch {
    return null
  }
}

/** What the evaluation needs from the host. */
export interface EvaluationOptions {
  resolvePython: () => Promise<string>
  pythonRuntimeDir: string
  jobDir: (jobId: string) => string
  emit: (progress: { jobId: string; done: number; total: number }) => void
}

/** Evaluations of jobs, at most one per job. */
export class EvaluationService {
  private readonly running = new Map<string, AbortController>()

  constructor(private readonly options: EvaluationOptions) {}

  /** The saved evaluation of the job, or null when it has none (or an unreadable one). */
  saved(jobId: string): Evaluation | null {
    return readEvaluation(this.options.jobDir(jobId))
  }

  /** Stops the job's evaluation; false when none was running. */
  cancel(jobId: string): boolean {
    const controller = this.running.get(jobId)
    controller?.abort()
    return controller !== undefined
  }

  /** Evaluates and resolves with the saved result. */
  async evaluate(jobId: string, limit?: number, maxNewTokens?: number, datasetPath?: string): Promise<Evaluation> {
    if (this.running.has(jobId)) throw appError('conflict', 'This job is being evaluated already: wait for it, or stop it first.')
    const controller = new AbortController()
    this.running.set(jobId, controller)
    try {
      const args = ['-m', 'tunedeck_trainer.evaluation', '--job-dir', this.options.jobDir(jobId)]
      if (limit) args.push('--limit', String(limit))
      if (maxNewTokens) args.push('--max-new-tokens', String(maxNewTokens))
      if (datasetPath) args.push('--dataset', datasetPath)
      const python = await this.options.resolvePython()
      return await new Promise<Evaluation>((resolve, reject) => {
        const child = spawn(python, args, {
          env: childEnvironment({ PYTHONPATH: this.options.pythonRuntimeDir, PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8' }),
          stdio: ['ignore', 'pipe', 'pipe'],
          windowsHide: true,
        })
        let stderr = ''
        let failure: string | null = null
        let result: Evaluation | null = null
        const onAbort = () => child.kill('SIGKILL')
        controller.signal.addEventListener('abort', onAbort, { once: true })
        onLines(child.stdout, (line) => {
          if (!line.startsWith('{')) return
          const event = JSON.parse(line) as { type?: string; done?: number; total?: number; message?: string }
          if (event.type === 'progress') this.options.emit({ jobId, done: Number(event.done), total: Number(event.total) })
          else if (event.type === 'error') failure = String(event.message)
          else if (event.type === 'done') result = evaluationSchema.parse(event)
        })
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-16_000)))
        child.on('error', (error) =>
          reject(appError('python_missing', `Could not run ${python} for the evaluation: ${error.message}. Check the Python set-up.`)),
        )
        child.on('close', (code) => {
          controller.signal.removeEventListener('abort', onAbort)
          if (controller.signal.aborted)
            return reject(appError('conflict', 'The evaluation was stopped; the previous one, if any, is kept.'))
          if (failure !== null) return reject(appError('invalid_input', failure))
          if (code === 0 && result) return resolve(result)
          reject(appError('internal', `The evaluation failed:\n${stderr.trim().split('\n').slice(-6).join('\n') || `exit code ${code}`}`))
        })
      })
    } finally {
      this.running.delete(jobId)
    }
  }
}
