/** `tunedeck push JOB --repo owner/name`: the job's adapter (or merged model) and card to the Hub. */
import type { CliClient } from './client'
import { UsageError, type CommandLine } from './commands'
import type { Output } from './output'

/** Pushes, showing each phase (and each file sent) on stderr; prints the repository's address. */
export async function pushJob(client: CliClient, line: CommandLine, io: Output): Promise<number> {
  const [jobId = ''] = line.arguments
  const repo = line.flags['--repo']
  if (typeof repo !== 'string') throw new UsageError('tunedeck push needs --repo OWNER/NAME: the Hugging Face repository to upload to.')
  const checkpoint = line.flags['--checkpoint']
  let lastMessage = ''
  const stop = client.on('export.progress', (progress) => {
    const text = `${progress.phase}${progress.message ? `: ${progress.message}` : ''}`
    if (progress.jobId !== jobId || text === lastMessage || line.json) return
    lastMessage = text
    io.err(text)
  })
  try {
    const result = await client.request('exports.push_hub', {
      jobId,
      repo,
      checkpoint: typeof checkpoint === 'string' ? checkpoint : null,
      merged: line.flags['--merged'] === true,
      private: line.flags['--public'] !== true,
    })
    const visibility = result.private ? 'private' : 'public'
    io.out(
      line.json ? JSON.stringify(result, null, 2) : `Pushed ${result.files.length} files to ${result.repo} (${visibility}): ${result.url}`,
    )
    return 0
  } finally {
    stop()
  }
}
