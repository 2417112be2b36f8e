/**
 * Trainers left by a host that died. Their pty hung up, so each is finishing
 * its optimizer step and saving a pause checkpoint before it exits paused
 * (python-runtime/tunedeck_trainer/control.py). A host that starts at once
 * waits for them before recovery runs, which would otherwise stop them
 * mid-step and lose the steps since their last checkpoint.
 */
import fs from 'node:fs'
import path from 'node:path'

/** Pids of live trainers whose --job-dir lies in this data folder's jobs/ (Linux; elsewhere none). */
export function orphanedTrainers(dataDir: string): number[] {
  if (process.platform !== 'linux') return []
  const jobs = `${path.join(dataDir, 'jobs')}${path.sep}`
  const found: number[] = []
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue
    try {
      const args = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')
      const at = args.indexOf('--job-dir')
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8')
      // A zombie has finished; its parent (the dead host's pty) will never reap it anew.
      if (args.includes('tunedeck_trainer') && at >= 0 && (args[at + 1] ?? '').startsWith(jobs) && !/\) Z /.test(stat))
        found.push(Number(name))
    } catch {
      // The process ended while we looked.
    }
  }
  return found
}

/**
 * Waits up to `timeoutMs` for the trainers of an earlier host to pause and
 * exit by themselves; says so on stderr. Recovery stops any still running.
 */
export async function waitForOrphanedTrainers(dataDir: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let left = orphanedTrainers(dataDir)
  if (left.length === 0) return
  process.stderr.write(
    `Waiting for ${left.length} trainer(s) left by an earlier run to save a pause checkpoint (up to ${Math.round(timeoutMs / 1000)} s)...\n`,
  )
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    left = orphanedTrainers(dataDir)
  }
  if (left.length > 0)
    process.stderr.write(`${left.length} trainer(s) did not stop within ${Math.round(timeoutMs / 1000)} s; recovery stops them.\n`)
}
