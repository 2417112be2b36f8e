/** Which job actions a status allows; the buttons and the tests read the same table. */
import { liveStatuses, resumableStatuses, type JobStatus } from '@shared/jobs'

export interface AllowedActions {
  pause: boolean
  resume: boolean
  cancel: boolean
  checkpoint: boolean
}

const cancellable: readonly JobStatus[] = ['queued', ...liveStatuses, 'paused', 'interrupted']

/**
 * Pause and checkpoint need a running trainer; resume continues from a
 * checkpoint, which a failed job may not have: pass `hasCheckpoint` when known.
 */
export function allowedActions(status: JobStatus, hasCheckpoint = true): AllowedActions {
  return {
    pause: status === 'running',
    resume: resumableStatuses.includes(status) && (status !== 'failed' || hasCheckpoint),
    cancel: cancellable.includes(status),
    checkpoint: status === 'running',
  }
}

/** True while the job may still change on its own (the page polls checkpoints then). */
export function isActive(status: JobStatus): boolean {
  return status === 'queued' || liveStatuses.includes(status)
}
