/**
 * The trainer's encoded-data cache as the host sees it: <data>/cache/encoded/<key>/, one folder
 * per encoding of a dataset (python-runtime/tunedeck_trainer/data/encoded_cache.py writes them,
 * meta.json last, naming the dataset's SHA-256). The dataset page shows the size a dataset's
 * entries take and deletes them; a later job encodes the data again.
 */
import fs from 'node:fs'
import path from 'node:path'

/** The folder the trainer is told to cache in (TUNEDECK_ENCODED_CACHE). */
export function encodedCacheFolder(dataDir: string): string {
  return path.join(dataDir, 'cache', 'encoded')
}

/** Each entry's folder and size whose meta.json names ``sha256`` (unreadable ones are left out). */
function entriesOf(dataDir: string, sha256: string): { folder: string; bytes: number }[] {
  const root = encodedCacheFolder(dataDir)
  if (!fs.existsSync(root)) return []
  const found: { folder: string; bytes: number }[] = []
  for (const name of fs.readdirSync(root)) {
    const folder = path.join(root, name)
    try {
      const meta = JSON.parse(fs.readFileSync(path.join(folder, 'meta.json'), 'utf8')) as { datasetSha256?: unknown }
      if (meta.datasetSha256 !== sha256) continue
      const bytes = fs.readdirSync(folder).reduce((total, file) => total + fs.statSync(path.join(folder, file)).size, 0)
      found.push({ folder, bytes })
    } catch {
      continue // a staging folder or a partial entry: the trainer removes or rebuilds it
    }
  }
  return found
}

/** Bytes the cache holds for the dataset with this SHA-256. */
export function encodedCacheBytes(dataDir: string, sha256: string): number {
  return entriesOf(dataDir, sha256).reduce((total, entry) => total + entry.bytes, 0)
}

/** Deletes the dataset's entries; returns the bytes freed. */
export function deleteEncodedCache(dataDir: string, sha256: string): number {
  let freed = 0
  for (const entry of entriesOf(dataDir, sha256)) {
    fs.rmSync(entry.folder, { recursive: true, force: true })
    freed += entry.bytes
  }
  return freed
}
