/** The disk a folder takes, for the job list and the set-up's progress. */
import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'

/** Bytes of the files under `folder` (links not followed; unreadable entries count 0; a missing folder is 0). */
export async function folderBytes(folder: string): Promise<number> {
  let total = 0
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    const full = join(folder, entry.name)
    if (entry.isDirectory()) total += await folderBytes(full)
    else if (entry.isFile())
      total += await lstat(full).then(
        (stats) => stats.size,
        () => 0,
      )
  }
  return total
}
