/** Which buttons each job status enables. */
import { describe, expect, it } from 'vitest'
import { jobStatuses, type JobStatus } from '@shared/jobs'
import { allowedActions } from '../../renderer/src/logic/actions'

function enabled(status: JobStatus): string[] {
  return Object.entries(allowedActions(status))
    .filter(([, allowed]) => allowed)
    .map(([name]) => name)
    .sort()
}

describe('allowedActions', () => {
  it('matches the table of the job page for every status', () => {
    const table = Object.fromEntries(jobStatuses.map((status) => [status, enabled(status)]))
    expect(table).toEqual({
      queued: ['cancel'],
      starting: ['cancel'],
      running: ['cancel', 'checkpoint', 'pause'],
      pausing: ['cancel'],
      paused: ['cancel', 'resume'],
      completed: [],
      failed: ['resume'],
      cancelled: [],
      interrupted: ['cancel', 'resume'],
    })
  })

  it('lets a failed job resume only when it has a checkpoint to resume from', () => {
    expect(allowedActions('failed', false).resume).toBe(false)
    expect(allowedActions('failed', true).resume).toBe(true)
    // A paused job always has its pause checkpoint.
    expect(allowedActions('paused', false).resume).toBe(true)
  })
})
