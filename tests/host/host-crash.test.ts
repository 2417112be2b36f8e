/**
 * A host crash costs no training: SIGKILL the real `serve` (out/main/serve.js)
 * in the middle of an epoch of the self-test job; its trainer, whose pty hung
 * up, finishes the step, saves a pause checkpoint and exits paused. A serve
 * restarted at once waits for it, shows the job paused (not interrupted),
 * resumes it, and every step's
 * loss equals that of the same job run without a stop, within 1e-6. The data
 * folder it leaves is the user's alone (0700 folders, 0600 files).
 * Builds out/ first when it is older than the sources.
 */
import { mkdtempSync, rmSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Job, MetricPoint } from '@shared/jobs'
import { buildServeIfStale, jobEvents, jobProcesses, ServeChildren, type Serve } from './serveChild'

const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-host-crash-'))
const dataDir = join(workDir, 'data')
const servers = new ServeChildren(dataDir)
const startServe = (): Promise<Serve> => servers.start()

beforeAll(() => buildServeIfStale())

afterAll(() => {
  servers.killAll()
  rmSync(workDir, { recursive: true, force: true })
})

const trainerRuns = (jobId: string): boolean => jobProcesses(dataDir, jobId).length > 0
const eventsOf = (jobId: string): Array<{ type: string; step?: number }> => jobEvents(dataDir, jobId)

/** Every file and folder under `dir` whose mode lets anyone but the owner in. */
function openToOthers(dir: string): string[] {
  const found: string[] = []
  const visit = (path: string): void => {
    const info = statSync(path)
    if ((info.mode & 0o077) !== 0) found.push(`${path} ${(info.mode & 0o777).toString(8)}`)
    if (info.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name))
  }
  visit(dir)
  return found
}

const selftest = { model: { selftest: true }, training: { epochs: 3 } }

describe('a host crash', () => {
  it('pauses the job with no step lost, and the resumed losses equal an uninterrupted run', async () => {
    const first = await startServe()
    const job = await first.request<Job>('jobs.create', selftest)
    await first.waitFor<{ jobId: string; points: MetricPoint[] }>(
      'job.metrics',
      (payload) => payload.jobId === job.id && payload.points.some((point) => point.step >= 5),
    )
    first.child.kill('SIGKILL')
    await first.exited

    // Restarted at once: the new serve waits while the orphaned trainer finishes its step and saves.
    const second = await startServe()
    expect(trainerRuns(job.id)).toBe(false)
    const written = eventsOf(job.id)
    const final = written.at(-1)
    expect(final?.type).toBe('paused')
    const lastStep = Math.max(...written.filter((event) => event.type === 'step').map((event) => event.step ?? 0))
    expect(final?.step).toBe(lastStep)
    expect(lastStep).toBeLessThan(36)
    const recovered = await second.request<Job>('jobs.get', { jobId: job.id })
    expect(recovered.status).toBe('paused')
    expect(recovered.step).toBe(lastStep)
    await second.request<Job>('jobs.resume', { jobId: job.id })
    const resumed = await second.waitFor<Job>(
      'job.updated',
      (payload) => payload.id === job.id && ['completed', 'failed'].includes(payload.status),
    )
    expect(resumed.error).toBeNull()
    expect(resumed.status).toBe('completed')

    const reference = await second.request<Job>('jobs.create', selftest)
    const done = await second.waitFor<Job>(
      'job.updated',
      (payload) => payload.id === reference.id && ['completed', 'failed'].includes(payload.status),
    )
    expect(done.status).toBe('completed')
    const stopped = await second.request<MetricPoint[]>('jobs.metrics', { jobId: job.id })
    const uninterrupted = await second.request<MetricPoint[]>('jobs.metrics', { jobId: reference.id })
    expect(stopped.map((point) => point.step)).toEqual(uninterrupted.map((point) => point.step))
    expect(uninterrupted).toHaveLength(36)
    const differences = stopped.map((point, index) => Math.abs(point.loss - (uninterrupted[index]?.loss ?? Number.NaN)))
    process.stdout.write(`host crash: paused at step ${lastStep} of 36; largest loss difference after resume ${Math.max(...differences)}\n`)
    for (const difference of differences) expect(difference).toBeLessThanOrEqual(1e-6)

    // Everything serve and the trainer wrote is private to the user. (The self-test's random
    // model is chmod 0755 by tiny_model.py on purpose; the 0700 data folder above it still
    // keeps others out.)
    expect((statSync(dataDir).mode & 0o777).toString(8)).toBe('700')
    expect((statSync(join(dataDir, 'tunedeck.db')).mode & 0o777).toString(8)).toBe('600')
    expect(openToOthers(dataDir).filter((entry) => !entry.startsWith(join(dataDir, 'models', 'tiny-selftest')))).toEqual([])
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
  }, 400_000)
})
