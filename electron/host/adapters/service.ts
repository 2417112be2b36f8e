/**
 * The adapter library's service: lists, combines, imports, exports and deletes the adapters
 * of <dataDir>/adapters (library.ts). Combining runs `python -m tunedeck_trainer.adapters`
 * with the trainer's interpreter; importing unpacks the zip into a staging folder (unzip.ts),
 * checks it (checks.ts) and only then renames it into the library.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Readable } from 'node:stream'
import type { z } from 'zod'
import {
  combineProblem,
  type adapterExportRequestSchema,
  type AdapterSource,
  type CombineShape,
  type combineRequestSchema,
  type importRequestSchema,
  type LibraryAdapter,
} from '@shared/adapters'
import { appError, isAppError, type AppError } from '@shared/errors'
import { cleanName } from '@shared/names'
import type { Job } from '@shared/jobs'
import { runExportPython, type ExportPythonOptions } from '../exports/python'
import { exportSource, jobFolder } from '../exports/sources'
import { jobExamples } from '../exports/files'
import { copyStream } from '../datasets/copy'
import { combinedCard, importedCard } from './card'
import { exportAdapter, type AdapterExport } from './export'
import { AdapterRefused, checkManifest, checkSafetensors, findAdapterFolder, readShape } from './checks'
import {
  adapterFolder,
  commitAdapter,
  libraryDir,
  listAdapters,
  localBase,
  readAdapter,
  removeAbandonedStaging,
  stagingFolder,
  type AdapterRecord,
} from './library'
import { defaultUnzipLimits, unzipSafely, ZipRefused, type UnzipLimits } from './unzip'

/** What the service needs from the host. */
export interface AdapterServiceOptions extends ExportPythonOptions {
  dataDir: string
  appVersion: string
  getJob: (id: string) => Job | Promise<Job>
  /** Tests lower these to build small bombs. */
  unzipLimits?: UnzipLimits
  /** The name of a job that waits or trains and starts from ``folder`` (initFrom), else null: that adapter is not deleted. */
  usedBy?: (folder: string) => Promise<string | null>
}

// Files an import keeps from the adapter folder besides the weights and config: the tokenizer's.
const tokenizerFile =
  /^(tokenizer(_config)?\.json|tokenizer\.model|special_tokens_map\.json|added_tokens\.json|vocab\.(json|txt)|merges\.txt|chat_template\.(jinja|json)|generation_config\.json)$/

/** The library of adapters. */
export class AdapterService {
  constructor(private readonly options: AdapterServiceOptions) {
    removeAbandonedStaging(options.dataDir)
  }

  list(): LibraryAdapter[] {
    return listAdapters(this.options.dataDir)
  }

  /** Deletes a library adapter's folder (renamed first, so a half-deleted one is never listed). */
  async delete(adapterId: string): Promise<void> {
    const folder = adapterFolder(this.options.dataDir, adapterId)
    const user = await this.options.usedBy?.(path.resolve(folder))
    if (user)
      throw appError(
        'conflict',
        `Job "${user}" starts from this adapter and has not finished: cancel or finish it first, then delete the adapter.`,
      )
    const doomed = path.join(libraryDir(this.options.dataDir), `.staging-${process.pid}-deleted-${adapterId}`)
    fs.renameSync(folder, doomed)
    fs.rmSync(doomed, { recursive: true, force: true })
  }

  /** Combines two or more adapters into a new library adapter, each weighted by its training examples. */
  async combine(request: z.output<typeof combineRequestSchema>): Promise<LibraryAdapter> {
    const sources = await Promise.all(request.sources.map((source) => this.resolve(source)))
    // The page's own check (it reads the same shapes): nothing reaches Python that it would refuse.
    const problem = combineProblem(request.mode, shapesOf(sources))
    if (problem) throw refusedSources(problem)
    const staging = stagingFolder(this.options.dataDir)
    try {
      const args = ['combine', '--mode', request.mode, '--out', staging]
      for (const source of sources) args.push('--source', source.folder, '--weight', String(source.examples))
      const result = (await runExportPython(this.options, args, { module: 'tunedeck_trainer.adapters' })) as { weights: number[] }
      const shape = readShape(staging, 'the combined adapter')
      const record: AdapterRecord = {
        ...shape,
        name: request.name,
        source: 'combined',
        examples: sources.reduce((sum, source) => sum + source.examples, 0),
        examplesKnown: sources.every((source) => source.examplesKnown),
        combined: {
          mode: request.mode,
          sources: sources.map((source, index) => ({ label: source.label, examples: source.examples, weight: result.weights[index] ?? 0 })),
        },
        created: new Date().toISOString(),
      }
      return commitAdapter(this.options.dataDir, staging, record, combinedCard(record, this.options.appVersion))
    } catch (error) {
      // The Python side names what differs by folder; the message names the adapters as the page does.
      if (isAppError(error) && error.code === 'invalid_input')
        throw refusedSources(sources.reduce((message, source) => message.replaceAll(source.folder, source.label), error.message))
      throw error
    } finally {
      fs.rmSync(staging, { recursive: true, force: true })
    }
  }

  /** What combineProblem compares for each source, as combine() reads it. */
  async shapes(sources: AdapterSource[]): Promise<CombineShape[]> {
    return shapesOf(await Promise.all(sources.map((source) => this.resolve(source))))
  }

  /** Unpacks and checks a zip; keeps the adapter in the library only when all of it is sound. */
  async import(request: z.output<typeof importRequestSchema>): Promise<LibraryAdapter> {
    const zipFile = path.resolve(request.path)
    const refuse = (message: string) => appError('invalid_input', `path: ${message}`, { fields: { path: message } })
    if (!fs.existsSync(zipFile) || !fs.statSync(zipFile).isFile())
      throw refuse(`${zipFile} is not a file: give the full path of an adapter zip.`)
    const unpacked = stagingFolder(this.options.dataDir)
    const staging = stagingFolder(this.options.dataDir)
    try {
      await unzipSafely(zipFile, unpacked, this.options.unzipLimits ?? defaultUnzipLimits)
      const name = path.basename(zipFile)
      await checkManifest(unpacked, name)
      const folder = findAdapterFolder(unpacked, name)
      const read = readShape(folder, name)
      const shape = { ...read, baseModel: localBase(this.options.dataDir, read.baseModel) }
      checkSafetensors(path.join(folder, 'adapter_model.safetensors'), name)
      fs.mkdirSync(staging)
      for (const file of fs.readdirSync(folder)) {
        if (file === 'adapter_model.safetensors' || file === 'adapter_config.json' || tokenizerFile.test(file))
          fs.renameSync(path.join(folder, file), path.join(staging, file))
      }
      if (shape.baseModel !== read.baseModel) nameBase(path.join(staging, 'adapter_config.json'), shape.baseModel)
      const examples = recordedExamples(unpacked, folder)
      const record: AdapterRecord = {
        ...shape,
        name: request.name ?? (cleanName(name.replace(/\.zip$/i, '')) || 'adapter'),
        source: 'imported',
        examples: examples ?? 1,
        examplesKnown: examples !== null,
        combined: null,
        created: new Date().toISOString(),
      }
      return commitAdapter(this.options.dataDir, staging, record, importedCard(record, zipFile, this.options.appVersion))
    } catch (error) {
      if (error instanceof ZipRefused || error instanceof AdapterRefused) throw refuse(error.message)
      throw error
    } finally {
      fs.rmSync(unpacked, { recursive: true, force: true })
      fs.rmSync(staging, { recursive: true, force: true })
    }
  }

  /**
   * Imports a zip arriving on a stream (serve's upload from a browser's picker or drop): it is
   * written to a staging folder under its own name, at most `limitBytes`, then imported as a
   * zip on disk is; nothing of it is left either way.
   */
  async importStream(source: Readable, fileName: string, limitBytes: number): Promise<LibraryAdapter> {
    const printable = [...fileName].map((character) => (character.charCodeAt(0) < 32 ? '_' : character)).join('')
    const base = path
      .basename(printable.replace(/\\/g, '/'))
      .replace(/[/:*?"<>|]/g, '_')
      .trim()
      .slice(0, 200)
    if (!base.toLowerCase().endsWith('.zip') || base === '.zip') {
      throw appError('invalid_input', `name: ${fileName} is not a .zip: choose an adapter zip.`, { fields: { name: 'not a .zip' } })
    }
    const folder = stagingFolder(this.options.dataDir)
    fs.mkdirSync(folder, { mode: 0o700 })
    try {
      const file = path.join(folder, base)
      await copyStream(source, file, base, limitBytes)
      return await this.import({ path: file })
    } finally {
      fs.rmSync(folder, { recursive: true, force: true })
    }
  }

  /** Writes a library adapter as a zip that adapters.import reads back (export.ts says what it holds). */
  async export(request: z.output<typeof adapterExportRequestSchema>): Promise<AdapterExport> {
    const folder = adapterFolder(this.options.dataDir, request.adapterId)
    const adapter = readAdapter(this.options.dataDir, request.adapterId) as LibraryAdapter
    const stem =
      adapter.name
        .replace(/[<>:"/\\|?*]+/g, '_')
        .replace(/[^\x20-\x7e]/g, '_')
        .trim() || adapter.id
    const destination = request.destination ?? path.join(this.options.dataDir, 'exports', `${stem}.zip`)
    if (!path.isAbsolute(destination) || !destination.toLowerCase().endsWith('.zip')) {
      throw appError('invalid_input', `destination: "${destination}" must be a full path ending in .zip`, {
        fields: { destination: 'a full path ending in .zip' },
      })
    }
    const staging = stagingFolder(this.options.dataDir)
    try {
      return await exportAdapter(this.options, adapter, folder, destination, staging)
    } finally {
      fs.rmSync(staging, { recursive: true, force: true })
    }
  }

  /** A source's folder, its training examples and a label for the card. */
  private async resolve(source: AdapterSource): Promise<{ folder: string; examples: number; examplesKnown: boolean; label: string }> {
    if ('adapterId' in source) {
      const folder = adapterFolder(this.options.dataDir, source.adapterId)
      const adapter = readAdapter(this.options.dataDir, source.adapterId) as LibraryAdapter
      return { folder, examples: adapter.examples, examplesKnown: adapter.examplesKnown, label: `library adapter "${adapter.name}"` }
    }
    const job = await this.options.getJob(source.jobId)
    const found = exportSource(this.options.dataDir, job, source.checkpoint)
    const examples = jobExamples(jobFolder(this.options.dataDir, job.id))
    const label = source.checkpoint ? `checkpoint "${source.checkpoint}" of job "${job.name}"` : `job "${job.name}"`
    return { folder: found.adapterDir, examples: examples ?? 1, examplesKnown: examples !== null, label }
  }
}

function refusedSources(message: string): AppError {
  return appError('invalid_input', message, { fields: { sources: message } })
}

/**
 * Points a library copy's adapter_config.json at the base as this machine has it, so that it
 * names the same base as the jobs trained here: the combine checks (here and the trainer's)
 * compare base_model_name_or_path, and PEFT loads the base from it.
 */
function nameBase(configFile: string, baseModel: string): void {
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>
  fs.writeFileSync(configFile, `${JSON.stringify({ ...config, base_model_name_or_path: baseModel }, null, 2)}\n`)
}

/** Each source's adapter_config.json, labelled with its name; a broken one is refused by name. */
function shapesOf(sources: Array<{ folder: string; label: string }>): CombineShape[] {
  try {
    return sources.map((source) => ({ ...readShape(source.folder, source.label), label: source.label }))
  } catch (error) {
    throw error instanceof AdapterRefused ? refusedSources(error.message) : error
  }
}

/**
 * The examples count a Tunedeck export records: a library export's adapter.json, or a job
 * export's manifest.json; null when there is none.
 */
function recordedExamples(unpacked: string, folder: string): number | null {
  for (const file of [path.join(unpacked, 'adapter.json'), path.join(folder, 'adapter.json'), path.join(unpacked, 'manifest.json')]) {
    try {
      const record = JSON.parse(fs.readFileSync(file, 'utf8')) as { examples?: unknown; examplesKnown?: unknown }
      if (typeof record.examples === 'number' && record.examples > 0 && record.examplesKnown !== false) return record.examples
    } catch {
      // No record: the count is unknown.
    }
  }
  return null
}
