/**
 * Deleting a job, and the disk each job uses. A job is deleted whole or not at all: its folder
 * is first renamed to jobs/.deleted-<id> (one atomic step), then its rows go in one
 * transaction, then the renamed folder is removed; a host that dies in between finds the
 * .deleted- folder on its next start and finishes the removal.
 */
import fs from 'node:fs'
import path from 'node:path'
import { appError } from '@shared/errors'
import { liveStatuses } from '@shared/jobs'
import type { JobRecord, Store } from '../store'
import { describeJob } from './catalog'

const deletedPrefix = '.deleted-'

/** Why the job cannot be deleted now, or undefined when it can. */
function refusal(store: Store, record: JobRecord, jobDir: string): string | undefined {
  if (liveStatuses.includes(record.status)) return `${describeJob(record)}; cancel it (or let it finish) before deleting it`
  const checkpoints = path.resolve(jobDir, 'checkpoints') + path.sep
  const waiting = store.jobs
    .list()
    .find(
      (other) =>
        other.id !== record.id &&
        (liveStatuses.includes(other.status) || other.status === 'queued') &&
        other.config.initFrom?.startsWith(checkpoints),
    )
  if (waiting) return `${describeJob(waiting)} and starts from a checkpoint of job "${record.name}"; cancel or finish it first`
  return undefined
}

/**
 * Deletes the job's files and rows; throws a conflict AppError for a job that is still training
 * or whose checkpoint another waiting job starts from. `inTransaction` runs inside the same
 * transaction as the row's removal (the queue is renumbered there).
 */
export function deleteJob(store: Store, record: JobRecord, jobDir: string, inTransaction: () => void): void {
  const problem = refusal(store, record, jobDir)
  if (problem !== undefined) throw appError('conflict', problem, { status: record.status })
  const doomed = path.join(path.dirname(jobDir), `${deletedPrefix}${record.id}`)
  let moved = false
  try {
    fs.renameSync(jobDir, doomed)
    moved = true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw appError(
        'internal',
        `Could not delete the files of job "${record.name}" in ${jobDir}: ${(error as Error).message}; nothing was deleted`,
      )
    }
  }
  try {
    store.transaction(() => {
      store.jobs.delete(record.id)
      inTransaction()
    })
  } catch (error) {
    if (moved) fs.renameSync(doomed, jobDir) // the rows stay, so the files come back
    throw error
  }
  fs.rmSync(doomed, { recursive: true, force: true })
}

/** Finishes deletions a host stopped in the middle of (called at start). */
export function finishDeletions(jobsDir: string): string[] {
  let names: string[]
  try {
    names = fs.readdirSync(jobsDir).filter((name) => name.startsWith(deletedPrefix))
  } catch {
    return []
  }
  for (const name of names) fs.rmSync(path.join(jobsDir, name), { recursive: true, force: true })
  return names.map((name) => name.slice(deletedPrefix.length))
}
