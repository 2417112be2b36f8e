/**
 * A save_to_disk folder uploaded from a browser: the page sends it as one uncompressed tar (a
 * folder cannot be posted as it is), and the host unpacks it into the staging folder as it
 * arrives, with the `tar` package (npm's own). Only plain files and folders are kept: a link,
 * a device or a path that leaves the folder refuses the whole upload, as does passing the size
 * limit. The folder is then hashed as an import from disk would hash it.
 */
import fs from 'node:fs'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'
import * as tar from 'tar'
import { appError, isAppError } from '@shared/errors'
import { copyFailure, hashFolder, tooLarge, type CopyResult } from './copy'

const kept = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory'])

/** Stops the stream once more than `limitBytes` have passed. */
function limit(name: string, limitBytes: number, progress?: (bytes: number) => void): Transform {
  let bytes = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length
      if (bytes > limitBytes) {
        const error = tooLarge(name, limitBytes)
        return done(Object.assign(new Error(error.message), error))
      }
      progress?.(bytes)
      done(null, chunk)
    },
  })
}

/** Unpacks the tar arriving on `source` into `target` (an empty folder); resolves with the folder's size and hash. */
export async function unpackFolder(
  source: Readable,
  target: string,
  name: string,
  limitBytes: number,
  progress?: (bytes: number) => void,
): Promise<CopyResult> {
  const refused: string[] = []
  const unpack = tar.x({
    cwd: target,
    strict: true,
    // Files keep the data folder's own modes (0600 under a 0700 folder), not the page's.
    noChmod: true,
    preservePaths: false,
    filter: (entryPath, entry) => {
      const type = 'type' in entry ? entry.type : 'File'
      if (kept.has(type) && !entryPath.split('/').includes('..')) return true
      refused.push(`${entryPath} (${type === 'SymbolicLink' || type === 'Link' ? 'a link' : type})`)
      return false
    },
  })
  try {
    await pipeline(source, limit(name, limitBytes, progress), unpack)
  } catch (error) {
    if (isAppError(error)) throw appError(error.code, error.message, error.data)
    const failure = error as NodeJS.ErrnoException
    if (failure.code === 'ENOSPC' || failure.code === 'EDQUOT' || failure.code === 'ENOENT') throw copyFailure(name, failure)
    throw appError(
      'invalid_input',
      `${name}: the uploaded folder could not be unpacked (${failure.message}); nothing was kept. Upload it again.`,
      { fields: { path: 'a broken upload' } },
    )
  }
  if (refused.length > 0) {
    fs.rmSync(target, { recursive: true, force: true })
    throw appError(
      'invalid_input',
      `${name}: ${refused[0]} is not a plain file or folder inside the dataset; nothing was kept. Save the dataset again with save_to_disk and upload that folder.`,
      {
        fields: { path: 'not a plain file' },
      },
    )
  }
  return await hashFolder(target, name)
}
