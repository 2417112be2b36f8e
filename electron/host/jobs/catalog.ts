/**
 * A job's checkpoints as the user sees them: the store's rows checked
 * against the folders on disk, and deletion that refuses to remove weights
 * a waiting or running job still needs.
 */
import fs from 'node:fs'
import path from 'node:path'
import { appError } from '@shared/errors'
import { liveStatuses, type Checkpoint } from '@shared/jobs'
import type { JobRecord, Store } from '../store'
import { checkpointsDir, removeCheckpointFolder, wholeCheckpoint } from './checkpoints'

/** "Job "name" (id) is status", the start of every conflict message. */
export function describeJob(record: JobRecord): string {
  return `Job "${record.name}" (${record.id}) is ${record.status}`
}

/** The job's checkpoints that are whole on disk, oldest step first; rows of folders gone are dropped. */
export function presentCheckpoints(store: Store, jobId: string, jobDir: string): Checkpoint[] {
  const present: Checkpoint[] = []
  for (const row of store.checkpoints.list(jobId)) {
    if (wholeCheckpoint(jobDir, row.name) !== undefined) present.push(row)
    // The trainer prunes old periodic checkpoints without an event; forget those.
    else if (!fs.existsSync(path.join(checkpointsDir(jobDir), `.tmp-${row.name}`))) store.checkpoints.delete(jobId, row.name)
  }
  return present
}

/** Deletes a checkpoint folder and its row, unless a queued or live job continues or starts from it. */
export function deleteCheckpoint(store: Store, record: JobRecord, jobDir: string, name: string): void {
  const folder = path.join(checkpointsDir(jobDir), name)
  const known = store.checkpoints.list(record.id).some((row) => row.name === name)
  if (name.startsWith('.') || name.includes('/') || name.includes('\\') || (!known && !fs.existsSync(folder))) {
    throw appError('not_found', `Job "${record.name}" has no checkpoint named "${name}"`)
  }
  const waiting = (job: JobRecord) => liveStatuses.includes(job.status) || job.status === 'queued'
  if (waiting(record) && record.config.resumeFrom === name) {
    throw appError('conflict', `${describeJob(record)} and continues from checkpoint "${name}"; cancel or finish it first`, {
      status: record.status,
    })
  }
  // Another job that waits or trains may start from this folder's weights (initFrom).
  const dependent = store.jobs.list().find((other) => waiting(other) && other.config.initFrom === path.resolve(folder))
  if (dependent !== undefined) {
    throw appError('conflict', `${describeJob(dependent)} and starts from checkpoint "${name}"; cancel or finish it first`, {
      status: dependent.status,
    })
  }
  removeCheckpointFolder(jobDir, name)
  store.checkpoints.delete(record.id, name)
  if (record.pausedCheckpoint === name) store.jobs.update(record.id, { pausedCheckpoint: null })
}
