/**
 * The table of job states (electron/shared/jobStates.ts): its shape, every
 * allowed transition written through the real store, a selection of refused
 * ones that leave the row as it was, the refusal a user gets through the
 * routes, and docs/architecture.md showing the same table.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { jobConfigSchema } from '@shared/config'
import type { AppError } from '@shared/errors'
import { jobStatuses, liveStatuses, resumableStatuses, type JobStatus } from '@shared/jobs'
import { canDo, jobTransitions, statesAllowing, transitionProblem } from '@shared/jobStates'
import { JobTransitionError, Store, newJobRecord, type JobRecord } from '../../electron/host/store'
import { Harness, repoRoot, scriptedTrainer, temporaryDir } from './jobs.harness'

const dirs: string[] = []
const harnesses: Harness[] = []
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.service.shutdown()
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

function openStore(): Store {
  const dir = temporaryDir()
  dirs.push(dir)
  return Store.open(dir)
}

function record(id: string, status: JobStatus): JobRecord {
  const config = jobConfigSchema.parse({ version: 1, jobId: id, model: { path: '/models/m' }, dataset: { path: '/data/d.jsonl' } })
  return newJobRecord({ id, name: `job ${id}`, status, config, createdAt: 1000, step: 4, totalSteps: 10 })
}

const key = (from: string, to: string) => `${from} -> ${to}`

describe('the table of job states', () => {
  it('has a way into every state, and no way out of completed or cancelled', () => {
    const targets = new Set(jobTransitions.map((transition) => transition.to))
    expect(jobStatuses.filter((status) => !targets.has(status))).toEqual([])
    const sources = new Set(jobTransitions.map((transition) => transition.from))
    expect(jobStatuses.filter((status) => !sources.has(status))).toEqual(['completed', 'cancelled'])
    // Each pair once: the table is a set of transitions, not a log.
    const pairs = jobTransitions.map((transition) => key(transition.from, transition.to))
    expect(new Set(pairs).size).toBe(pairs.length)
    expect(jobTransitions.filter((transition) => transition.from === transition.to)).toEqual([])
  })

  it('matches the contract: live states are those that can be interrupted, and resume starts from the resumable ones', () => {
    const interruptible = jobTransitions.filter((transition) => transition.to === 'interrupted').map((transition) => transition.from)
    expect(interruptible).toEqual([...liveStatuses])
    expect(statesAllowing('resume')).toEqual([...resumableStatuses])
    expect(statesAllowing('pause')).toEqual(['starting', 'running'])
    expect(statesAllowing('cancel')).toEqual(['queued', 'starting', 'running', 'pausing', 'paused', 'interrupted'])
    // Each action leads to one state only.
    for (const action of ['pause', 'resume', 'cancel'] as const) {
      expect(new Set(jobTransitions.filter((transition) => transition.action === action).map((transition) => transition.to)).size).toBe(1)
    }
    expect(canDo('resume', 'starting')).toBe(false) // starting -> queued is the host's, not a resume
  })

  it('lets the store make every allowed transition', () => {
    const store = openStore()
    jobTransitions.forEach((transition, index) => {
      const id = `job-${index}`
      store.jobs.insert(record(id, transition.from))
      expect(store.jobs.update(id, { status: transition.to }).status, key(transition.from, transition.to)).toBe(transition.to)
    })
    store.close()
  })

  it('treats writing the status a job already has as no change', () => {
    const store = openStore()
    for (const status of jobStatuses) {
      store.jobs.insert(record(status, status))
      expect(store.jobs.update(status, { status, step: 5 })).toMatchObject({ status, step: 5 })
      expect(transitionProblem(status, status)).toBeUndefined()
    }
    store.close()
  })

  it('refuses the others, naming both states, and leaves the row as it was', () => {
    const refused: Array<[JobStatus, JobStatus]> = [
      ['completed', 'running'],
      ['completed', 'queued'],
      ['cancelled', 'queued'],
      ['failed', 'cancelled'],
      ['queued', 'running'],
      ['queued', 'completed'],
      ['queued', 'paused'],
      ['paused', 'running'],
      ['pausing', 'running'],
      ['interrupted', 'running'],
      ['running', 'queued'],
    ]
    const store = openStore()
    for (const [from, to] of refused) {
      const id = `${from}-${to}`
      store.jobs.insert(record(id, from))
      let error: unknown
      try {
        store.jobs.update(id, { status: to, step: 9 })
      } catch (thrown) {
        error = thrown
      }
      expect(error, key(from, to)).toBeInstanceOf(JobTransitionError)
      expect((error as JobTransitionError).message).toBe(`Job "job ${id}" (${id}) cannot go from ${from} to ${to}`)
      expect((error as JobTransitionError).code).toBe('conflict')
      expect(store.jobs.get(id)).toMatchObject({ status: from, step: 4 })
    }
    store.close()
  })

  it('is what docs/architecture.md shows under "Job states"', () => {
    const text = fs.readFileSync(path.join(repoRoot, 'docs', 'architecture.md'), 'utf8')
    const section = text.slice(text.indexOf('## Job states'), text.indexOf('\n## ', text.indexOf('## Job states') + 1))
    const documented: string[] = []
    for (const line of section.split('\n')) {
      const cells = line.split('|').map((cell) => cell.trim())
      if (cells.length < 4 || !jobStatuses.includes(cells[2] as JobStatus)) continue
      for (const from of (cells[1] ?? '').split(',')) documented.push(key(from.trim(), cells[2] as string))
    }
    expect(documented.sort()).toEqual(jobTransitions.map((transition) => key(transition.from, transition.to)).sort())
  })
})

describe('the host refuses a transition the table does not have', () => {
  it('answers a route with a conflict that names both states', async () => {
    const dir = temporaryDir()
    dirs.push(dir)
    const host = new Harness(dir, { trainerCommand: scriptedTrainer(() => 'complete'), shutdownSeconds: 5 })
    harnesses.push(host)
    await host.service.start()
    const selftest = { model: { selftest: true } }
    const refusal = async (answer: Promise<unknown>): Promise<AppError> => {
      try {
        await answer
      } catch (error) {
        return error as AppError
      }
      throw new Error('expected the route to refuse')
    }

    const done = await host.waitForStatus((await host.request('jobs.create', selftest)).id, ['completed', 'failed'])
    expect(done.status).toBe('completed')
    expect(await refusal(host.request('jobs.resume', { jobId: done.id }))).toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('cannot go from completed to queued'),
    })
    expect(await refusal(host.request('jobs.pause', { jobId: done.id }))).toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('cannot go from completed to pausing'),
    })

    await host.request('queue.set', { running: false })
    const waiting = await host.request('jobs.create', selftest)
    expect(await refusal(host.request('jobs.pause', { jobId: waiting.id }))).toMatchObject({
      message: expect.stringContaining('cannot go from queued to pausing'),
    })
    expect((await host.request('jobs.cancel', { jobId: waiting.id })).status).toBe('cancelled')
    expect(await refusal(host.request('jobs.resume', { jobId: waiting.id }))).toMatchObject({
      message: expect.stringContaining('cannot go from cancelled to queued'),
    })
    // Nothing moved: the job the user sees is as it was.
    expect(await host.request('jobs.get', { jobId: done.id })).toMatchObject({ status: 'completed', adapterPath: done.adapterPath })
    expect(await host.request('jobs.get', { jobId: waiting.id })).toMatchObject({ status: 'cancelled' })
  })
})
