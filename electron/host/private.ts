/**
 * The data folder is the user's alone: datasets, adapters, the database and
 * job logs can hold private text. Folders are 0700 and files 0600, by a
 * process-wide umask (which the trainer, started from this process, inherits
 * for its checkpoints) and by fixing a data folder an older version left open.
 */
import { chmodSync, mkdirSync } from 'node:fs'

/** Makes new files and folders of this process and its children private (0600 / 0700). */
export function usePrivateUmask(): void {
  if (process.platform !== 'win32') process.umask(0o077)
}

/** Creates the data folder readable by the user alone, and closes one that is open. */
export function makePrivateDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  if (process.platform !== 'win32') chmodSync(dataDir, 0o700)
}
