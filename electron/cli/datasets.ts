/** `tunedeck datasets` and `tunedeck import FILE [--name TEXT]`: the dataset library from the command line. */
import type { DatasetEntry } from '@shared/datasets'
import type { CliClient } from './client'
import type { CommandLine } from './commands'
import type { SettingsSources } from './settings'

function describe(dataset: DatasetEntry): string {
  const bad = dataset.bad > 0 ? `, ${dataset.bad} bad` : ''
  const jobs = dataset.jobs.length > 0 ? `  jobs: ${dataset.jobs.map((job) => job.name).join(', ')}` : ''
  return `${dataset.id}  ${dataset.name}  ${dataset.format}  ${dataset.usable} rows${bad}  ${(dataset.bytes / 1e6).toFixed(1)} MB${jobs}`
}

/** Runs `datasets` or `import`; resolves with the exit code. */
export async function datasetCommand(
  client: CliClient,
  line: CommandLine,
  print: (value: unknown, text: string) => void,
  sources: SettingsSources,
): Promise<number> {
  if (line.command === 'datasets') {
    const list = await client.request('datasets.list', {})
    print(list, list.length === 0 ? 'No datasets yet: add one with tunedeck import FILE.' : list.map(describe).join('\n'))
    return 0
  }
  const name = line.flags['--name']
  const result = await client.request('datasets.import', {
    path: sources.resolvePath(line.arguments[0] ?? ''),
    ...(typeof name === 'string' ? { name } : {}),
  })
  const how = result.duplicate ? 'Already in the library' : 'Imported'
  print(result, `${how}: ${describe(result.dataset)}\nTrain on it: tunedeck start --dataset ${result.dataset.path}`)
  return 0
}
