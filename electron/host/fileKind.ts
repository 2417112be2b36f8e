/**
 * Refuses what is neither a regular file nor a folder before anything opens it. Opening a named
 * pipe (FIFO) for reading waits for a writer: a dataset import, a preview or a model check of
 * one would never answer, and four of them would hold every libuv thread, stalling the static
 * files and uploads too. Sockets and devices (/dev/zero) are no datasets or models either.
 * Files are opened with O_NONBLOCK and checked again on the open descriptor, so a path
 * swapped for a pipe between the check and the open cannot block either.
 */
import fs from 'node:fs'
import { appError, type AppError } from '@shared/errors'

/** What a path is, in the user's words. */
function kindOf(stat: fs.Stats): string {
  if (stat.isFIFO()) return 'a named pipe (FIFO)'
  if (stat.isSocket()) return 'a socket'
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device'
  if (stat.isSymbolicLink()) return 'a symbolic link'
  return 'not a regular file'
}

/** What is wrong with `file`, which is `stat`: the problem in the user's words. */
function problemOf(file: string, stat: fs.Stats): string {
  return `${file} is ${kindOf(stat)}, not a regular file or folder: Tunedeck reads only files and folders (a pipe or device would never end). Choose the file itself.`
}

/** The AppError for `file`, which is `stat` and not a file or folder; `field` is the input field it came from. */
function notRegular(file: string, stat: fs.Stats, field: string): AppError {
  const message = problemOf(file, stat)
  return appError('invalid_input', `${field}: ${message}`, { fields: { [field]: message } })
}

/** Why `file` may not be read (a pipe, socket or device), or null for a file, a folder or nothing at all. */
export function specialFileProblem(file: string): string | null {
  const stat = fs.statSync(file, { throwIfNoEntry: false })
  return stat && !stat.isFile() && !stat.isDirectory() ? problemOf(file, stat) : null
}

/**
 * The stat of `file` (through symlinks) when it is a regular file or a folder; throws the
 * invalid_input naming `field` otherwise. Returns null when nothing is there, for the caller's
 * own "no such file" message.
 */
export function regularOrFolder(file: string, field = 'path'): fs.Stats | null {
  const stat = fs.statSync(file, { throwIfNoEntry: false })
  if (!stat) return null
  if (!stat.isFile() && !stat.isDirectory()) throw notRegular(file, stat, field)
  return stat
}

/** O_NONBLOCK where the platform has it (not on Windows, which has no FIFOs on disk). */
const nonBlocking = fs.constants.O_NONBLOCK ?? 0

/**
 * Opens a regular file for reading without blocking on a pipe, and checks the descriptor: the
 * caller gets a descriptor of a regular file or the invalid_input naming `field`.
 */
export function openRegularFile(file: string, field = 'path'): number {
  const descriptor = fs.openSync(file, fs.constants.O_RDONLY | nonBlocking)
  const stat = fs.fstatSync(descriptor)
  if (stat.isFile()) return descriptor
  fs.closeSync(descriptor)
  throw notRegular(file, stat, field)
}
