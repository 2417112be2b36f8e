/** `tunedeck eval JOB`: the base against the tuned model on the job's held-out rows. */
import type { Evaluation } from '@shared/evaluation'
import type { CliClient } from './client'
import { UsageError, type CommandLine } from './commands'
import type { Output } from './output'
import type { SettingsSources } from './settings'

function whole(flag: string, value: string | true | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < 1) throw new UsageError(`${flag} takes a whole number of at least 1, not "${value}".`)
  return parsed
}

/** The evaluation as a table a person reads. */
export function evaluationText(evaluation: Evaluation): string {
  const row = (label: string, side: Evaluation['base']) =>
    `${label.padEnd(6)} ${side.loss.toFixed(4).padStart(8)} ${side.perplexity.toFixed(2).padStart(11)} ${`${(side.exactMatch * 100).toFixed(1)}%`.padStart(12)} ${side.rougeL.toFixed(3).padStart(8)} ${(side.bleu * 100).toFixed(1).padStart(6)}`
  return [
    `${evaluation.rows} ${evaluation.source === 'dataset' ? `rows of ${evaluation.datasetPath ?? 'the chosen dataset'}` : `${evaluation.source} rows`}, saved with the job:`,
    'model      loss  perplexity  exact match  ROUGE-L   BLEU',
    row('base', evaluation.base),
    row('tuned', evaluation.tuned),
  ].join('\n')
}

/** Evaluates (progress on stderr) and prints the table, or the saved one with --saved. */
export async function evaluateJob(
  client: CliClient,
  line: CommandLine,
  io: Output,
  sources: Pick<SettingsSources, 'resolvePath' | 'exists'>,
): Promise<number> {
  const [jobId = ''] = line.arguments
  // A file here is resolved from the working folder (serve's is elsewhere); anything else is a library id.
  const chosen = line.flags['--dataset']
  const dataset = typeof chosen !== 'string' ? undefined : sources.exists(chosen) ? sources.resolvePath(chosen) : chosen
  if (line.flags['--saved'] === true) {
    const saved = await client.request('jobs.evaluation', { jobId })
    if (!saved) {
      io.err(`Job ${jobId} has no evaluation yet: run tunedeck eval ${jobId}.`)
      return 1
    }
    io.out(line.json ? JSON.stringify(saved, null, 2) : evaluationText(saved))
    return 0
  }
  const stop = client.on('job.evaluation_progress', (progress) => {
    if (progress.jobId === jobId && !line.json) io.err(`row ${progress.done} of ${progress.total}`)
  })
  try {
    const result = await client.request('jobs.evaluate', {
      jobId,
      limit: whole('--limit', line.flags['--limit']),
      maxNewTokens: whole('--max-new-tokens', line.flags['--max-new-tokens']),
      dataset,
    })
    io.out(line.json ? JSON.stringify(result, null, 2) : evaluationText(result))
    return 0
  } finally {
    stop()
  }
}
