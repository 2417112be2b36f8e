/**
 * A host crash during a job on two ranks (training.gpus 2: torchrun's launcher and two gloo
 * ranks on CPU, the self-test model): SIGKILL the real `serve` mid-epoch. The pty hang-up
 * reaches the launcher, torchrun passes it to both ranks, and they agree to pause after the
 * same step. The restarted serve waits for them, leaves no process of the job behind (launcher
 * or rank), shows the job paused at the last step written, and resuming it on two ranks runs it
 * to completed from the next step. Builds out/ first when it is older than the sources.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Job, MetricPoint } from '@shared/jobs'
import { buildServeIfStale, jobEvents, jobProcesses, ServeChildren } from './serveChild'

const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-host-crash-ranks-'))
const dataDir = join(workDir, 'data')
const servers = new ServeChildren(dataDir)

beforeAll(() => buildServeIfStale())

afterAll(() => {
  servers.killAll()
  rmSync(workDir, { recursive: true, force: true })
})

/** The job's processes once they have all exited, or those still running after a minute. */
async function processesLeft(jobId: string): Promise<number[]> {
  for (let waited = 0; waited < 60_000 && jobProcesses(dataDir, jobId).length > 0; waited += 200) {
    await new Promise((done) => setTimeout(done, 200))
  }
  return jobProcesses(dataDir, jobId)
}

const twoRanks = { model: { selftest: true }, training: { epochs: 3, gpus: 2 } }

describe('a host crash during a two-rank job', () => {
  it('pauses both ranks after the same step, leaves no rank running, and the job resumes to the end', async () => {
    const first = await servers.start()
    const job = await first.request<Job>('jobs.create', twoRanks)
    await first.waitFor<{ jobId: string; points: MetricPoint[] }>(
      'job.metrics',
      (payload) => payload.jobId === job.id && payload.points.some((point) => point.step >= 2),
      300_000,
    )
    expect(jobProcesses(dataDir, job.id).length).toBeGreaterThanOrEqual(3) // the launcher and two ranks
    first.child.kill('SIGKILL')
    await first.exited

    const second = await servers.start()
    expect(jobProcesses(dataDir, job.id)).toEqual([])
    const written = jobEvents(dataDir, job.id)
    expect(written.find((event) => event.type === 'started')?.ranks).toBe(2)
    const final = written.at(-1)
    expect(final?.type).toBe('paused')
    const lastStep = Math.max(...written.filter((event) => event.type === 'step').map((event) => event.step ?? 0))
    expect(final?.step).toBe(lastStep)
    const recovered = await second.request<Job>('jobs.get', { jobId: job.id })
    expect(recovered.status).toBe('paused')
    expect(recovered.step).toBe(lastStep)

    await second.request<Job>('jobs.resume', { jobId: job.id })
    const resumed = await second.waitFor<Job>(
      'job.updated',
      (payload) => payload.id === job.id && ['completed', 'failed'].includes(payload.status),
      300_000,
    )
    expect(resumed.error).toBeNull()
    expect(resumed.status).toBe('completed')
    const events = jobEvents(dataDir, job.id)
    const restarted = events.filter((event) => event.type === 'started').at(-1) as { ranks?: number; step?: number; totalSteps?: number }
    expect(restarted.ranks).toBe(2)
    expect(restarted.step).toBe(lastStep)
    const points = await second.request<MetricPoint[]>('jobs.metrics', { jobId: job.id })
    const steps = points.map((point) => point.step)
    expect(steps).toEqual(Array.from({ length: restarted.totalSteps ?? 0 }, (_, index) => index + 1))
    // The completed event comes a moment before the ranks and the launcher have exited.
    expect(await processesLeft(job.id)).toEqual([])
    process.stdout.write(`host crash on 2 ranks: paused at step ${lastStep} of ${restarted.totalSteps}, resumed to the end\n`)
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
  }, 700_000)
})
