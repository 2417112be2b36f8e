/** The sidebar's queue order and where move up / down sends a job. */
import { describe, expect, it } from 'vitest'
import type { Job, JobStatus } from '@shared/jobs'
import { moveTarget, queueOrder, queueRanks } from '../../renderer/src/logic/queue'

function job(id: string, status: JobStatus, queuePosition: number | null, createdAt = 0): Job {
  return { id, status, queuePosition, createdAt } as Job
}

describe('queue order', () => {
  it('ranks only queued jobs, by their stored position, from 1', () => {
    const jobs = [job('running', 'running', null), job('b', 'queued', 3), job('a', 'queued', 2), job('done', 'completed', null)]
    expect(queueOrder(jobs).map((entry) => entry.id)).toEqual(['a', 'b'])
    // Positions 2 and 3 are stale after the first queued job started: the window shows #1 and #2.
    expect([...queueRanks(jobs)]).toEqual([
      ['a', 1],
      ['b', 2],
    ])
  })

  it('puts the older job first when two positions tie', () => {
    const jobs = [job('new', 'queued', 1, 20), job('old', 'queued', 1, 10)]
    expect(queueOrder(jobs).map((entry) => entry.id)).toEqual(['old', 'new'])
  })
})

describe('moveTarget', () => {
  const ranks = queueRanks([job('a', 'queued', 1), job('b', 'queued', 2), job('c', 'queued', 3)])

  it('moves one place up or down', () => {
    expect(moveTarget(ranks, 'b', 'up')).toBe(1)
    expect(moveTarget(ranks, 'b', 'down')).toBe(3)
  })

  it('does not move past either end, nor a job that is not queued', () => {
    expect(moveTarget(ranks, 'a', 'up')).toBeNull()
    expect(moveTarget(ranks, 'c', 'down')).toBeNull()
    expect(moveTarget(ranks, 'running', 'up')).toBeNull()
  })
})
