/**
 * The data folder is the user's alone: datasets, adapters, the database and
 * job logs can hold private text. Folders are 0700 and files 0600, by a
 * process-wide umask (which the trainer, started from this process, inherits
 * for its checkpoints) and by fixing a data folder an older version left open:
 * once per data folder (a mark file records it), every file and folder in it
 * loses its group and other permissions.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Written once the existing files have been made private; its presence skips the walk. */
const privateMark = '.private-v1'

/** Makes new files and folders of this process and its children private (0600 / 0700). */
export function usePrivateUmask(): void {
  if (process.platform !== 'win32') process.umask(0o077)
}

/**
 * Takes group and other permissions off everything under `folder`, keeping the owner's (so an
 * executable stays one); symbolic links are left alone, as is what they point to.
 */
function closeTree(folder: string, skipped: ReadonlySet<string> = new Set()): void {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.isSymbolicLink() || skipped.has(entry.name)) continue
    const path = join(folder, entry.name)
    try {
      const { mode } = lstatSync(path)
      if ((mode & 0o077) !== 0) chmodSync(path, (mode & 0o700) | (entry.isDirectory() ? 0o700 : 0o600))
      if (entry.isDirectory()) closeTree(path)
    } catch {
      // Gone meanwhile, or not the user's to change: the rest still closes.
    }
  }
}

/** Creates the data folder readable by the user alone, and closes one that is open. */
export function makePrivateDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  if (process.platform === 'win32') return
  chmodSync(dataDir, 0o700)
  if (existsSync(join(dataDir, privateMark))) return
  // The Python environment holds only installed packages, tens of thousands of files: skipped.
  closeTree(dataDir, new Set(['python-env']))
  writeFileSync(join(dataDir, privateMark), 'Files here were made private (0600, folders 0700) by Tunedeck.\n', { mode: 0o600 })
}
