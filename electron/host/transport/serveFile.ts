/**
 * serve.json in the data folder: where a running serve listens and its token, for the
 * `tunedeck` command line. Readable by the user alone (0600), written whole (a temporary
 * file renamed), and removed when serve stops, but only by the serve that wrote it.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { serveFileName } from '@shared/dataFolder'

export interface ServeFile {
  port: number
  token: string
  pid: number
  /** The address to open in a browser (token in the fragment). */
  url: string
}

/** Writes <dataDir>/serve.json for this process. */
export function writeServeFile(dataDir: string, contents: Omit<ServeFile, 'pid'>): void {
  const file = join(dataDir, serveFileName)
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify({ ...contents, pid: process.pid }, null, 2)}\n`, { mode: 0o600 })
  renameSync(temporary, file)
}

/** Removes serve.json if this process wrote it (another serve may have taken the folder over). */
export function removeServeFile(dataDir: string): void {
  const file = join(dataDir, serveFileName)
  try {
    const written = JSON.parse(readFileSync(file, 'utf8')) as Partial<ServeFile>
    if (written.pid === process.pid) rmSync(file, { force: true })
  } catch {
    // Already gone, or not ours to judge: leave it.
  }
}
