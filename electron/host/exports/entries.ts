/**
 * The files of an export, hashed: what the zip holds (manifest.json last), and what a push to the
 * Hub uploads, laid out as the Hub expects (hubLayout).
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Job } from '@shared/jobs'
import type { z } from 'zod'
import { modelCard, modelfile } from './card'
import { readEvaluation } from '../jobs/evaluation'
import { digestBuffer, digestFile, jobExamples, listFiles, readHistory } from './files'
import type { preparedSchema } from './prepared'
import type { ExportSource } from './sources'
import { machineFolders, portableConfig, portableText } from './portable'
import { manifestOf, type ZipEntry } from './zip'

/** What the export's files are made from. */
export interface EntriesInput {
  job: Job
  source: ExportSource
  /** The folder the Python step filled. */
  staging: string
  prepared: z.output<typeof preparedSchema>
  merged: boolean
  appVersion: string
}

/** Every file of the zip, hashed, with manifest.json last. */
export async function exportEntries(input: EntriesInput, signal: AbortSignal): Promise<ZipEntry[]> {
  const { job, source, staging, prepared, merged } = input
  const entries: ZipEntry[] = []
  const addFile = async (name: string, file: string) => entries.push({ name, source: file, ...(await digestFile(file, signal)) })
  const addText = (name: string, text: string) => {
    const data = Buffer.from(text, 'utf8')
    entries.push({ name, data, bytes: data.length, sha256: digestBuffer(data) })
  }
  const folder = merged ? 'merged' : 'adapter'
  for (const relative of listFiles(path.join(staging, folder))) await addFile(`${folder}/${relative}`, path.join(staging, folder, relative))
  if (!merged && fs.existsSync(path.join(staging, 'adapter.gguf'))) await addFile('adapter.gguf', path.join(staging, 'adapter.gguf'))
  if (prepared.modelGguf) await addFile('model.gguf', path.join(staging, 'model.gguf'))
  const history = readHistory(source.jobDir)
  const datasetPath = path.resolve(source.jobDir, job.config.dataset.path)
  const datasetHash =
    fs.existsSync(datasetPath) && fs.statSync(datasetPath).isFile() ? (await digestFile(datasetPath, signal)).sha256 : null
  const card = {
    jobName: job.name,
    jobId: job.id,
    checkpoint: source.checkpoint,
    config: job.config,
    history,
    dataset: { name: path.basename(datasetPath), sha256: datasetHash },
    appVersion: input.appVersion,
    date: new Date(),
    prepared,
    merged,
    evaluation: readEvaluation(source.jobDir),
  }
  addText('Modelfile', modelfile(card))
  addText('README.md', modelCard(card))
  addText('config.json', portableConfig(fs.readFileSync(path.join(source.jobDir, 'config.json'), 'utf8'), prepared.baseModel))
  addText('metrics.csv', history.csv)
  const terminal = path.join(source.jobDir, 'terminal.log')
  const folders = machineFolders(source.jobDir, path.resolve(source.jobDir, job.config.model.path), datasetPath, prepared.baseModel)
  if (fs.existsSync(terminal)) addText('terminal.log', portableText(fs.readFileSync(terminal, 'utf8'), folders))
  addText('manifest.json', JSON.stringify(manifestOf(entries, jobExamples(source.jobDir)), null, 2) + '\n')
  return entries
}

/**
 * The export's files as a Hub repository holds them: the adapter's (or merged model's) files at the
 * top, so `PeftModel.from_pretrained("owner/name")` or `from_pretrained` loads it, the card as
 * README.md, the GGUF adapter and metrics beside them, and the job's config renamed so it does not
 * take the merged model's config.json. The Modelfile (its paths are the zip's), the terminal log and
 * the manifest stay out.
 */
export function hubLayout(entries: ZipEntry[]): Array<ZipEntry & { hubName: string }> {
  const names: Record<string, string | null> = {
    'config.json': 'tunedeck-job.json',
    Modelfile: null,
    'terminal.log': null,
    'manifest.json': null,
  }
  const result: Array<ZipEntry & { hubName: string }> = []
  for (const entry of entries) {
    const hubName = entry.name in names ? names[entry.name] : entry.name.replace(/^(adapter|merged)\//, '')
    if (hubName) result.push({ ...entry, hubName })
  }
  return result
}
