/**
 * The dataset library: datasets/<id>/ in the data directory holds one
 * imported file (or save_to_disk folder) and dataset.json, its name, format,
 * counts and SHA-256. An import is copied into a staging folder while it is
 * hashed, read and checked with the trainer's loader, and only then renamed
 * into place with dataset.json written last: a failed or cancelled import
 * leaves nothing behind, and the same bytes imported twice are one dataset
 * (the id is derived from the hash). A file that reads but whose format cannot
 * be told (a header-less CSV, odd column names) is imported all the same and
 * marked `unread` until a reading is chosen for it (setReading).
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { Readable } from 'node:stream'
import type { DatasetEntry, DatasetImportResult, DatasetPreview, DatasetReading } from '@shared/datasets'
import { appError } from '@shared/errors'
import { cleanName, hasControlCharacters } from '@shared/names'
import type { Job } from '@shared/jobs'
import { copyFile, copyFolder, copyStream, type CopyResult } from './copy'
import { deleteEncodedCache, encodedCacheBytes } from './encodedCache'
import { unpackFolder } from './unpack'
import { regularOrFolder } from '../fileKind'

/** What the library needs from the host. */
export interface DatasetLibraryOptions {
  dataDir: string
  /** Reads a file with the trainer's loader (previewDataset), as `reading` says: format, counts, or why it cannot be read. */
  check: (file: string, reading?: DatasetReading) => Promise<DatasetPreview>
  /** Every job, to show which trained on a dataset. */
  listJobs: () => Job[] | Promise<Job[]>
}

/** dataset.json: the entry without its jobs, plus whether a confirmed delete hid it. */
type Stored = Omit<DatasetEntry, 'jobs' | 'path' | 'encodedBytes'> & { hidden?: boolean }

const stagingPrefix = '.staging-'
const metaName = 'dataset.json'

/** A file name safe to keep: the base name, with path separators and control characters replaced. */
function safeName(name: string): string {
  const printable = [...name].map((character) => (hasControlCharacters(character) ? '_' : character)).join('')
  const base = path
    .basename(printable.replace(/\\/g, '/'))
    .replace(/[/:*?"<>|]/g, '_')
    .trim()
  return base === '' || base === '.' || base === '..' ? 'dataset' : base.slice(0, 200)
}

/** The datasets in one data directory. */
export class DatasetLibrary {
  readonly root: string

  constructor(private readonly options: DatasetLibraryOptions) {
    this.root = path.join(options.dataDir, 'datasets')
  }

  /** Removes staging folders an interrupted import left (the host crashed mid-copy). */
  cleanStaging(): void {
    if (!fs.existsSync(this.root)) return
    for (const entry of fs.readdirSync(this.root)) {
      if (entry.startsWith(stagingPrefix)) fs.rmSync(path.join(this.root, entry), { recursive: true, force: true })
    }
  }

  /** Imports a file or save_to_disk folder from disk. */
  async importPath(file: string, name?: string): Promise<DatasetImportResult> {
    const source = path.resolve(file.trim())
    // A pipe or device is refused before anything opens it.
    const stat = regularOrFolder(source)
    if (!stat) {
      const message = `no file at ${source}: choose an existing .jsonl, .json, .csv, .parquet or .txt file, or a folder saved with save_to_disk`
      throw appError('invalid_input', `path: ${message}`, { fields: { path: message } })
    }
    const fileName = safeName(source)
    return await this.stage(
      fileName,
      name,
      (target) => (stat.isDirectory() ? copyFolder(source, target) : copyFile(source, target)),
      stat.isDirectory(),
    )
  }

  /**
   * Imports bytes arriving on a stream (serve's upload endpoint), never
   * holding them whole; `limitBytes` refuses a larger upload part way.
   */
  async importStream(
    source: Readable,
    fileName: string,
    limitBytes: number,
    progress?: (bytes: number) => void,
  ): Promise<DatasetImportResult> {
    const safe = safeName(fileName)
    return await this.stage(safe, undefined, (target) => copyStream(source, target, safe, limitBytes, progress), false)
  }

  /** Imports a save_to_disk folder arriving as a tar on a stream (serve's upload of a dropped folder). */
  async importFolderStream(source: Readable, folderName: string, limitBytes: number): Promise<DatasetImportResult> {
    const safe = safeName(folderName)
    return await this.stage(safe, undefined, (target) => unpackFolder(source, target, safe, limitBytes), true)
  }

  private async stage(
    fileName: string,
    name: string | undefined,
    copy: (target: string) => Promise<CopyResult>,
    folder: boolean,
  ): Promise<DatasetImportResult> {
    fs.mkdirSync(this.root, { recursive: true, mode: 0o700 })
    const staging = path.join(this.root, `${stagingPrefix}${randomBytes(6).toString('hex')}`)
    fs.mkdirSync(staging, { mode: 0o700 })
    try {
      const target = path.join(staging, fileName)
      if (folder) fs.mkdirSync(target)
      const copied = await copy(target)
      const id = copied.sha256.slice(0, 16)
      const existing = this.read(id)
      if (existing) {
        // The same bytes again: one dataset. A confirmed delete kept it hidden for its jobs; show it again.
        if (existing.hidden) this.write({ ...existing, hidden: false })
        return { dataset: await this.entry(id), duplicate: true }
      }
      const checked = await this.checkFile(target, fileName, undefined, true)
      const now = new Date().toISOString()
      const stored: Stored = {
        id,
        name: cleanName(name ?? '') || fileName,
        fileName,
        format: checked.format ?? 'auto',
        rows: checked.rows,
        usable: checked.usable,
        bad: checked.skipped,
        bytes: copied.bytes,
        sha256: copied.sha256,
        importedAt: now,
        checkedAt: now,
        ...(checked.needsReading ? { unread: checked.error ?? `${fileName}: choose how to read it` } : {}),
      }
      fs.writeFileSync(path.join(staging, metaName), JSON.stringify(stored, null, 2), { mode: 0o600 })
      try {
        fs.renameSync(staging, path.join(this.root, id))
      } catch (error) {
        // Another import of the same bytes finished first.
        if (this.read(id)) return { dataset: await this.entry(id), duplicate: true }
        throw error
      }
      return { dataset: await this.entry(id), duplicate: false }
    } finally {
      fs.rmSync(staging, { recursive: true, force: true })
    }
  }

  /**
   * Reads `file` with the trainer's loader; refuses a file it cannot read or that has no usable row,
   * except, with `unreadOk`, one that reads but fits no format (returned with needsReading).
   */
  private async checkFile(file: string, fileName: string, reading?: DatasetReading, unreadOk = false): Promise<DatasetPreview> {
    const checked = await this.options.check(file, reading)
    if (unreadOk && checked.needsReading) return checked
    // An import leaves nothing behind; a new reading leaves the kept one.
    const unchanged = reading === undefined ? 'Nothing was imported.' : 'The dataset is read as before.'
    if (!checked.ok) {
      const reason = checked.error ?? `${fileName} could not be read`
      throw appError('invalid_input', `${reason} ${unchanged}`, { fields: { path: reason } })
    }
    if (checked.usable === 0) {
      const first = checked.errors[0]?.message ?? `${fileName} has no rows`
      const message = `${fileName}: no usable rows (${checked.rows} read); the first problem: ${first} ${unchanged}`
      throw appError('invalid_input', message, { fields: { path: message } })
    }
    return checked
  }

  private read(id: string): Stored | null {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.root, id, metaName), 'utf8')) as Stored
    } catch {
      return null
    }
  }

  private write(stored: Stored): void {
    const file = path.join(this.root, stored.id, metaName)
    const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`
    fs.writeFileSync(temporary, JSON.stringify(stored, null, 2), { mode: 0o600 })
    fs.renameSync(temporary, file)
  }

  private stored(id: string): Stored {
    const stored = this.read(id)
    if (!stored || stored.hidden)
      throw appError('not_found', `No dataset ${id} in the library: it may have been deleted; import the file again.`, {
        fields: { datasetId: 'no such dataset' },
      })
    return stored
  }

  /** The absolute path of a dataset's file (what a job's dataset.path names). */
  filePath(id: string): string {
    return path.join(this.root, id, this.stored(id).fileName)
  }

  private usedBy(jobs: Job[], id: string): DatasetEntry['jobs'] {
    const folder = path.join(this.root, id) + path.sep
    return jobs
      .filter((job) => path.resolve(job.config.dataset.path).startsWith(folder))
      .map((job) => ({ jobId: job.id, name: job.name, status: job.status }))
  }

  private async entry(id: string, jobs?: Job[]): Promise<DatasetEntry> {
    const { hidden: _hidden, ...stored } = this.stored(id)
    return {
      ...stored,
      path: path.join(this.root, id, stored.fileName),
      jobs: this.usedBy(jobs ?? (await this.options.listJobs()), id),
      encodedBytes: encodedCacheBytes(this.options.dataDir, stored.sha256),
    }
  }

  /** Every visible dataset, newest first. */
  async list(): Promise<DatasetEntry[]> {
    if (!fs.existsSync(this.root)) return []
    const jobs = await this.options.listJobs()
    const ids = fs.readdirSync(this.root).filter((entry) => {
      const stored = entry.startsWith('.') ? null : this.read(entry)
      return stored !== null && !stored.hidden
    })
    const entries = await Promise.all(ids.map((id) => this.entry(id, jobs)))
    return entries.sort((a, b) => b.importedAt.localeCompare(a.importedAt))
  }

  async get(id: string): Promise<DatasetEntry> {
    return await this.entry(id)
  }

  async rename(id: string, name: string): Promise<DatasetEntry> {
    const trimmed = cleanName(name)
    if (trimmed === '') throw appError('invalid_input', 'name: give the dataset a name', { fields: { name: 'give the dataset a name' } })
    this.write({ ...this.stored(id), name: trimmed })
    return await this.entry(id)
  }

  /** Reads the file again with the trainer's loader (after an update of the trainer) and stores the new counts. */
  /** Deletes the dataset's encoded data from the trainer's cache (the next job encodes it again). */
  async deleteEncoded(id: string): Promise<DatasetEntry> {
    deleteEncodedCache(this.options.dataDir, this.stored(id).sha256)
    return await this.entry(id)
  }

  async recheck(id: string): Promise<DatasetEntry> {
    const stored = this.stored(id)
    const checked = await this.checkFile(path.join(this.root, id, stored.fileName), stored.fileName, stored.reading, true)
    const { unread: _unread, ...rest } = stored
    const unread = checked.needsReading ? { unread: checked.error ?? `${stored.fileName}: choose how to read it` } : {}
    this.write({
      ...rest,
      ...unread,
      format: checked.format ?? stored.format,
      rows: checked.rows,
      usable: checked.usable,
      bad: checked.skipped,
      checkedAt: new Date().toISOString(),
    })
    return await this.entry(id)
  }

  /**
   * Reads the file as `reading` says (a format, a column mapping, a text split) and keeps that with
   * the dataset, with the new counts; refused, and nothing changed, when no row is then usable.
   */
  async setReading(id: string, reading: DatasetReading): Promise<DatasetEntry> {
    const stored = this.stored(id)
    const checked = await this.checkFile(path.join(this.root, id, stored.fileName), stored.fileName, reading)
    const now = new Date().toISOString()
    const { unread: _unread, ...rest } = stored
    this.write({
      ...rest,
      reading,
      format: checked.format ?? reading.format,
      rows: checked.rows,
      usable: checked.usable,
      bad: checked.skipped,
      checkedAt: now,
    })
    return await this.entry(id)
  }

  /**
   * Deletes a dataset. One that jobs trained on needs `confirm`; it is then
   * hidden from the library but its file stays, so those jobs can be resumed
   * and reproduced (their config.json names it).
   */
  async delete(id: string, confirm = false): Promise<void> {
    const entry = await this.entry(id)
    if (entry.jobs.length === 0) {
      fs.rmSync(path.join(this.root, id), { recursive: true, force: true })
      return
    }
    if (!confirm) {
      const names = entry.jobs.map((job) => job.name).join(', ')
      throw appError(
        'conflict',
        `${entry.name} was used by ${entry.jobs.length} job(s) (${names}): confirm to remove it from the library; its file is kept so those jobs stay reproducible.`,
        {
          fields: { datasetId: 'used by jobs' },
        },
      )
    }
    this.write({ ...this.stored(id), hidden: true })
  }
}

/**
 * The library dataset a job's file belongs to (datasets/<id>/...), read
 * from its dataset.json; null for a file outside the library.
 */
export function libraryDatasetOf(
  dataDir: string,
  file: string,
): { datasetId: string; sha256: string; reading?: DatasetReading; unread?: string } | null {
  const root = path.join(dataDir, 'datasets') + path.sep
  const resolved = path.resolve(file)
  if (!resolved.startsWith(root)) return null
  const id = resolved.slice(root.length).split(path.sep)[0] ?? ''
  try {
    const stored = JSON.parse(fs.readFileSync(path.join(root, id, metaName), 'utf8')) as Partial<Stored>
    if (typeof stored.sha256 !== 'string') return null
    return {
      datasetId: id,
      sha256: stored.sha256,
      ...(stored.reading ? { reading: stored.reading } : {}),
      ...(typeof stored.unread === 'string' ? { unread: stored.unread } : {}),
    }
  } catch {
    return null
  }
}
