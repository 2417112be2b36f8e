/**
 * What a host leaves half-written when it dies mid-work (a staging folder, an export's .partial
 * zip): each piece names the process that wrote it, and is removed by the next host once that
 * process is gone. A live writer (another window's host on the same data folder) is left alone.
 */
import fs from 'node:fs'
import path from 'node:path'

/** True while `pid` runs (EPERM: it runs, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes each entry of `folder` whose writer, `pidOf(name)`, is neither this process nor alive;
 * `remove` does the removing (default: the entry itself, recursively). Names without a pid stay.
 */
export function removeAbandoned(folder: string, pidOf: (name: string) => number | undefined, remove?: (entry: string) => void): void {
  let names: string[] = []
  try {
    names = fs.readdirSync(folder)
  } catch {
    return
  }
  for (const name of names) {
    const pid = pidOf(name)
    if (!pid || pid === process.pid || processAlive(pid)) continue
    const entry = path.join(folder, name)
    if (remove) remove(entry)
    else fs.rmSync(entry, { recursive: true, force: true })
  }
}
