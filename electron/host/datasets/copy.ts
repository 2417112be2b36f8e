/**
 * Copies what the user brings into a staging folder while hashing it, so a
 * file is read once and never held whole in memory: a stream for a file (a
 * path on disk, or an upload), and file by file for a save_to_disk folder.
 * Every failure is an AppError naming the file and saying what to do; the
 * caller removes the staging folder.
 */
import { createHash, type Hash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { appError, isAppError, type AppError } from '@shared/errors'
import { openRegularFile } from '../fileKind'

/** What a copy wrote. */
export interface CopyResult {
  bytes: number
  sha256: string
}

/** A copy that passed `limitBytes`; the message says how to raise it. */
export function tooLarge(name: string, limitBytes: number): AppError {
  const shown = limitBytes >= 1024 * 1024 ? `${Math.round(limitBytes / 1024 / 1024)} MiB` : `${Math.round(limitBytes / 1024)} KiB`
  return appError(
    'invalid_input',
    `${name} is larger than the upload limit of ${shown}: raise it with serve --max-upload-mb, or import the file from the computer running Tunedeck.`,
    {
      fields: { path: `larger than ${shown}` },
    },
  )
}

/** The AppError for a write or read that failed part way (a full disk above all). */
export function copyFailure(name: string, error: NodeJS.ErrnoException): AppError {
  if (error.code === 'ENOSPC' || error.code === 'EDQUOT') {
    return appError(
      'invalid_input',
      `${name}: the disk is full while copying it into the data directory; nothing was kept. Free some space and import it again.`,
      { fields: { path: 'the disk is full' } },
    )
  }
  if (error.code === 'ENOENT') {
    return appError(
      'invalid_input',
      `${name} disappeared while it was being imported; nothing was kept. Import it again once it is in place.`,
      { fields: { path: 'the file disappeared' } },
    )
  }
  return appError('invalid_input', `${name} could not be copied (${error.message}); nothing was kept. Check the file and try again.`, {
    fields: { path: error.message },
  })
}

/** Counts and hashes the bytes passing through; fails once more than `limitBytes` went by. */
function meter(hash: Hash, name: string, limitBytes: number, progress?: (bytes: number) => void): Transform & { bytes: number } {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      counter.bytes += chunk.length
      if (counter.bytes > limitBytes) {
        const error = tooLarge(name, limitBytes)
        return done(Object.assign(new Error(error.message), error))
      }
      hash.update(chunk)
      progress?.(counter.bytes)
      done(null, chunk)
    },
  }) as Transform & { bytes: number }
  counter.bytes = 0
  return counter
}

/**
 * Streams `source` into `target` (a new file), hashing on the way. Rejects
 * with an AppError when the stream fails, the limit is passed or the disk
 * fills; `progress(bytes)` is called as bytes arrive.
 */
export async function copyStream(
  source: Readable,
  target: string,
  name: string,
  limitBytes = Number.MAX_SAFE_INTEGER,
  progress?: (bytes: number) => void,
): Promise<CopyResult> {
  const hash = createHash('sha256')
  const counter = meter(hash, name, limitBytes, progress)
  try {
    await pipeline(source, counter, fs.createWriteStream(target, { flags: 'wx', mode: 0o600 }))
  } catch (error) {
    if (isAppError(error)) {
      const { code, message, data } = error
      throw appError(code, message, data)
    }
    throw copyFailure(name, error as NodeJS.ErrnoException)
  }
  return { bytes: counter.bytes, sha256: hash.digest('hex') }
}

/**
 * Copies a file on disk, refusing one that changes while it is read (its
 * size or modification time differ before and after): what was copied would
 * be neither the old file nor the new one.
 */
export async function copyFile(file: string, target: string): Promise<CopyResult> {
  const name = path.basename(file)
  // Opened without blocking and checked on the descriptor: a file swapped for a pipe since the caller looked is refused, not waited on.
  const descriptor = openRegularFile(file)
  const before = fs.fstatSync(descriptor)
  const result = await copyStream(fs.createReadStream(file, { fd: descriptor }), target, name)
  let after: fs.Stats
  try {
    after = fs.statSync(file)
  } catch (error) {
    throw copyFailure(name, error as NodeJS.ErrnoException)
  }
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || result.bytes !== before.size) {
    throw appError(
      'invalid_input',
      `${name} changed while it was being imported (${before.size} bytes before, ${after.size} after); nothing was kept. Import it again once it is written.`,
      {
        fields: { path: 'the file changed during the import' },
      },
    )
  }
  return result
}

/** The files under `folder`, as sorted relative paths; symlinks are refused (they may lead anywhere). */
function folderFiles(folder: string, name: string): string[] {
  const found: string[] = []
  const walk = (relative: string): void => {
    for (const entry of fs.readdirSync(path.join(folder, relative), { withFileTypes: true })) {
      const inner = path.join(relative, entry.name)
      if (entry.isSymbolicLink()) {
        throw appError(
          'invalid_input',
          `${name}: ${inner} is a symbolic link; a dataset folder is copied as it is, so save it again with save_to_disk.`,
          { fields: { path: `${inner} is a link` } },
        )
      }
      if (entry.isDirectory()) walk(inner)
      else if (entry.isFile()) found.push(inner)
      else
        throw appError(
          'invalid_input',
          `${name}: ${inner} is a pipe, socket or device, not a file; a dataset folder holds only files. Remove it and import again.`,
          { fields: { path: `${inner} is not a file` } },
        )
    }
  }
  walk('')
  return found.sort()
}

/**
 * Copies a save_to_disk folder (one with state.json, or dataset_dict.json
 * for splits); any other folder is refused naming it. The hash covers each
 * file's relative name and bytes, in name order.
 */
export async function copyFolder(folder: string, target: string): Promise<CopyResult> {
  const name = path.basename(folder)
  checkSaveToDisk(folder, name)
  const folderHash = new FolderHash()
  for (const relative of folderFiles(folder, name)) {
    const destination = path.join(target, relative)
    fs.mkdirSync(path.dirname(destination), { recursive: true })
    folderHash.add(relative, await copyFile(path.join(folder, relative), destination))
  }
  return folderHash.result()
}

/** Refuses a folder that save_to_disk did not write (no state.json, or dataset_dict.json for splits). */
export function checkSaveToDisk(folder: string, name: string): void {
  if (!fs.existsSync(path.join(folder, 'state.json')) && !fs.existsSync(path.join(folder, 'dataset_dict.json'))) {
    throw appError(
      'invalid_input',
      `${name} is a folder but not a dataset saved with save_to_disk (it has no state.json or dataset_dict.json): choose such a folder, or a .jsonl, .json, .csv, .parquet or .txt file.`,
      {
        fields: { path: 'not a save_to_disk folder' },
      },
    )
  }
}

/** A folder's hash: each file's relative name and SHA-256, in name order, so the same folder always hashes alike however it arrived. */
class FolderHash {
  private readonly files: Array<[string, CopyResult]> = []

  add(relative: string, copied: CopyResult): void {
    this.files.push([relative.split(path.sep).join('/'), copied])
  }

  result(): CopyResult {
    const hash = createHash('sha256')
    let bytes = 0
    for (const [relative, copied] of this.files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      hash.update(`${relative}\0${copied.sha256}\n`)
      bytes += copied.bytes
    }
    return { bytes, sha256: hash.digest('hex') }
  }
}

/**
 * Hashes a folder already in place (a save_to_disk folder unpacked from an upload) as copyFolder
 * hashes the one it copies, and refuses one that is not a save_to_disk folder.
 */
export async function hashFolder(folder: string, name: string): Promise<CopyResult> {
  checkSaveToDisk(folder, name)
  const folderHash = new FolderHash()
  for (const relative of folderFiles(folder, name)) {
    const hash = createHash('sha256')
    let bytes = 0
    for await (const chunk of fs.createReadStream(path.join(folder, relative)) as AsyncIterable<Buffer>) {
      hash.update(chunk)
      bytes += chunk.length
    }
    folderHash.add(relative, { bytes, sha256: hash.digest('hex') })
  }
  return folderHash.result()
}
