/**
 * The model library behind the models.* routes: lists the hub cache and the user's folders,
 * inspects one model with the trainer's memory estimate, downloads from the Hub with progress
 * events, cancels, and keeps the Hugging Face token. Every Python step is its own process.
 */
import fs from 'node:fs'
import path from 'node:path'
import { appError } from '@shared/errors'
import type { DatasetPreview } from '@shared/datasets'
import {
  modelDetailSchema,
  modelFitsSchema,
  modelSummarySchema,
  type DatasetDownload,
  type DatasetDownloadInput,
  type DownloadProgress,
  type ModelDetail,
  type ModelFits,
  type ModelLibrary,
  type ModelSummary,
  type TokenStatus,
} from '@shared/models'
import { privateUrlProblem } from './addresses'
import { hubCacheDir } from './cache'
import { regularOrFolder } from '../fileKind'
import { runModelsPython, type ModelsLine, type ModelsPythonOptions } from './python'
import { fileTokenStore, readModelSettings, writeModelSettings, type TokenStore } from './settings'

/** What the service needs from the host. */
export interface ModelServiceOptions extends ModelsPythonOptions {
  dataDir: string
  emit: (progress: DownloadProgress) => void
  /** Defaults to <dataDir>/hf-token (0600). */
  tokens?: TokenStore
  /** Lets datasets.download fetch from loopback and private addresses (addresses.ts); off by default. */
  allowPrivateDownloads?: boolean
}

interface RunningDownload {
  progress: DownloadProgress
  abort: AbortController
  done: Promise<DownloadProgress>
}

/** The models.* routes over one data folder. */
export class ModelService {
  private readonly tokens: TokenStore
  private readonly downloads = new Map<string, RunningDownload>()

  constructor(private readonly options: ModelServiceOptions) {
    this.tokens = options.tokens ?? fileTokenStore(options.dataDir)
  }

  /** Models in the hub cache and the added folders (a folder that is gone lists nothing). */
  async list(): Promise<ModelLibrary> {
    const settings = readModelSettings(this.options.dataDir)
    const models: ModelSummary[] = []
    const folders = settings.folders.flatMap((folder) => ['--folder', folder])
    const result = await runModelsPython(this.options, ['list', ...folders], (line) => {
      if (line.type === 'model') models.push(modelSummarySchema.parse(line))
    })
    if (result.code !== 0) throw appError('internal', `Listing the models failed:\n${result.stderr || `exit code ${result.code}`}`)
    return { models, folders: settings.folders, cacheDir: hubCacheDir(), popular: settings.popular }
  }

  /** One model folder or cached hub id, with its packing support and LoRA/QLoRA fit on this GPU. */
  async inspect(modelPath: string): Promise<ModelDetail> {
    if (path.isAbsolute(modelPath)) regularOrFolder(modelPath)
    let detail: ModelDetail | null = null
    let failure: string | null = null
    const result = await runModelsPython(this.options, ['inspect', modelPath, '--estimate'], (line) => {
      if (line.type === 'model') detail = modelDetailSchema.parse(line)
      if (line.type === 'error') failure = String(line.message)
    })
    if (failure !== null) throw appError('invalid_input', failure, { fields: { path: failure } })
    if (detail === null) throw appError('internal', `Inspecting ${modelPath} failed:\n${result.stderr || `exit code ${result.code}`}`)
    return detail
  }

  /** Every listed model's fit at `settings` (config.json keys, e.g. a preset's), in one Python process. */
  async fit(settings: object): Promise<ModelFits> {
    const folders = readModelSettings(this.options.dataDir).folders.flatMap((folder) => ['--folder', folder])
    const fits: ModelFits = []
    const result = await runModelsPython(this.options, ['fit', '--settings', JSON.stringify(settings), ...folders], (line) => {
      if (line.type === 'fit') fits.push(modelFitsSchema.element.parse({ path: line.path, fit: line.fit, packing: line.packing }))
    })
    if (result.code !== 0)
      throw appError('internal', `Estimating the models' memory failed:\n${result.stderr || `exit code ${result.code}`}`)
    return fits
  }

  /** Adds a model folder (or a folder of model folders) to the list. */
  async addFolder(folder: string): Promise<ModelLibrary> {
    const resolved = path.resolve(folder)
    if (!fs.statSync(resolved, { throwIfNoEntry: false })?.isDirectory()) {
      throw appError('invalid_input', `Folder: ${resolved} is not a folder; choose a model folder or a folder of models`, {
        fields: { path: 'not a folder' },
      })
    }
    const settings = readModelSettings(this.options.dataDir)
    if (!settings.folders.includes(resolved))
      writeModelSettings(this.options.dataDir, { ...settings, folders: [...settings.folders, resolved] })
    return await this.list()
  }

  async removeFolder(folder: string): Promise<ModelLibrary> {
    const settings = readModelSettings(this.options.dataDir)
    const resolved = path.resolve(folder)
    writeModelSettings(this.options.dataDir, { ...settings, folders: settings.folders.filter((item) => item !== resolved) })
    return await this.list()
  }

  async setPopular(hubIds: string[]): Promise<ModelLibrary> {
    const settings = readModelSettings(this.options.dataDir)
    writeModelSettings(this.options.dataDir, { ...settings, popular: [...new Set(hubIds)] })
    return await this.list()
  }

  /** Downloads running now. */
  running(): DownloadProgress[] {
    return [...this.downloads.values()].map((download) => download.progress)
  }

  /**
   * Downloads `hubId` into the hub cache and answers with the last progress (done, failed or
   * cancelled). A second request for a model already downloading waits for the same download.
   */
  async download(hubId: string, revision = 'main'): Promise<DownloadProgress> {
    return await this.run('model', hubId, ['download', hubId, '--revision', revision])
  }

  /**
   * Downloads a Hub dataset's split or a web file into <dataDir>/downloads/, then reads it with
   * the trainer's loader as a dropped file is (the preview says its format, rows and bad rows).
   */
  async downloadDataset(input: DatasetDownloadInput, preview: (file: string) => Promise<DatasetPreview>): Promise<DatasetDownload> {
    const outDir = path.join(this.options.dataDir, 'downloads')
    if ('url' in input && !this.options.allowPrivateDownloads) {
      const problem = await privateUrlProblem(input.url)
      if (problem) throw problem
    }
    const [source, args] =
      'url' in input
        ? [input.url, ['--url', input.url, ...(this.options.allowPrivateDownloads ? [] : ['--public-only'])]]
        : [
            `${input.hubId} ${input.config ?? 'default'}/${input.split ?? 'train'}`,
            ['--hub', input.hubId, '--config', input.config ?? 'default', '--split', input.split ?? 'train'],
          ]
    const progress = await this.run('dataset', source, ['download-dataset', ...args, '--out-dir', outDir])
    return { ...progress, preview: progress.state === 'done' && progress.path ? await preview(progress.path) : null }
  }

  private async run(kind: DownloadProgress['kind'], source: string, args: string[]): Promise<DownloadProgress> {
    const key = `${kind}:${source}`
    const existing = this.downloads.get(key)
    if (existing) return await existing.done
    const abort = new AbortController()
    const progress: DownloadProgress = {
      kind,
      hubId: source,
      state: 'starting',
      doneBytes: 0,
      totalBytes: 0,
      bytesPerSecond: 0,
      secondsLeft: null,
      path: null,
      error: null,
    }
    const entry: RunningDownload = { progress, abort, done: Promise.resolve(progress) }
    const update = (change: Partial<DownloadProgress>) => {
      Object.assign(entry.progress, change)
      this.options.emit({ ...entry.progress })
    }
    const token = await this.tokens.read()
    entry.done = (async () => {
      try {
        const result = await runModelsPython(this.options, args, (line) => update(fromLine(line)), { token }, abort.signal)
        if (abort.signal.aborted) update({ state: 'cancelled', bytesPerSecond: 0, secondsLeft: null })
        else if (entry.progress.state !== 'done' && entry.progress.state !== 'failed') {
          update({
            state: 'failed',
            error: { code: 'failed', message: `Downloading ${source} stopped:\n${result.stderr || `exit code ${result.code}`}`, url: null },
          })
        }
      } catch (error) {
        update({ state: 'failed', error: { code: 'python_missing', message: (error as Error).message, url: null } })
      } finally {
        this.downloads.delete(key)
      }
      return { ...entry.progress }
    })()
    this.downloads.set(key, entry)
    update({})
    return await entry.done
  }

  /** Stops a running download; the partial file stays for the next try. */
  async cancel(hubId: string, kind: DownloadProgress['kind'] = 'model'): Promise<void> {
    const download = this.downloads.get(`${kind}:${hubId}`)
    if (!download) throw appError('not_found', `${hubId} is not downloading.`)
    download.abort.abort()
    await download.done
  }

  async token(): Promise<TokenStatus> {
    return { stored: (await this.tokens.read()) !== null, storage: this.tokens.storage }
  }

  async setToken(token: string | null): Promise<TokenStatus> {
    await this.tokens.write(token)
    return await this.token()
  }

  /** Stops every download (the host is shutting down); each resumes on the next request. */
  shutdown(): void {
    for (const download of this.downloads.values()) download.abort.abort()
  }
}

/** The progress change one line of `models download` means. */
function fromLine(line: ModelsLine): Partial<DownloadProgress> {
  const number = (key: string) => (typeof line[key] === 'number' ? (line[key] as number) : 0)
  switch (line.type) {
    case 'start':
      return { state: 'downloading', doneBytes: number('doneBytes'), totalBytes: number('totalBytes') }
    case 'progress':
      return {
        state: 'downloading',
        doneBytes: number('doneBytes'),
        totalBytes: number('totalBytes'),
        bytesPerSecond: number('bytesPerSecond'),
        secondsLeft: typeof line.secondsLeft === 'number' ? line.secondsLeft : null,
      }
    case 'done':
      return { state: 'done', doneBytes: number('totalBytes'), totalBytes: number('totalBytes'), secondsLeft: 0, path: String(line.path) }
    case 'error':
      return {
        state: 'failed',
        bytesPerSecond: 0,
        secondsLeft: null,
        error: { code: String(line.code), message: String(line.message), url: typeof line.url === 'string' ? line.url : null },
      }
    default:
      return {}
  }
}
