/**
 * Crash and shutdown recovery of the real headless host (out/main/serve.js as
 * a child process) running the real self-test trainer on CPU:
 *   - SIGKILL of serve mid-job: the trainer notices its pty hang up, saves a
 *     pause checkpoint and exits; the restarted host shows the job paused with
 *     every step the trainer wrote, and resuming it runs it to completed
 *     (tests/host/host-crash.test.ts checks the losses step by step);
 *   - SIGTERM mid-job: the job ends paused with a checkpoint and serve exits 0.
 * Builds out/ first when it is older than the sources.
 */
import { mkdtempSync, rmSync, existsSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Checkpoint, Job, MetricPoint } from '@shared/jobs'
import { buildServeIfStale, ServeChildren, type Serve } from './serveChild'

const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-recovery-'))
const dataDir = join(workDir, 'data')
const servers = new ServeChildren(dataDir)
const startServe = (): Promise<Serve> => servers.start()

beforeAll(() => buildServeIfStale())

afterAll(() => {
  servers.killAll()
  rmSync(workDir, { recursive: true, force: true })
})

/** Pids of processes whose command line names this job's folder (its trainer). */
function trainerPids(jobId: string): number[] {
  const marker = join(dataDir, 'jobs', jobId)
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) pids.push(Number(name))
    } catch {
      // The process ended while we looked.
    }
  }
  return pids
}

/** Step numbers of every step event in the job's events.jsonl, in file order. */
function stepsInEvents(jobId: string): number[] {
  const text = readFileSync(join(dataDir, 'jobs', jobId, 'events.jsonl'), 'utf8')
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as { type: string; step?: number })
    .filter((event) => event.type === 'step')
    .map((event) => event.step as number)
}

/** Waits for a step metric numbered `step` or later (the self-test logs every step). */
const stepsSeen = (serve: Serve, jobId: string, step: number): Promise<unknown> =>
  serve.waitFor<{ jobId: string; points: MetricPoint[] }>(
    'job.metrics',
    (payload) => payload.jobId === jobId && payload.points.some((point) => point.step >= step),
  )

describe('recovery', () => {
  let jobId = ''

  it('survives a SIGKILL of serve: paused with every step, then resumes to completed', async () => {
    const first = await startServe()
    const job = await first.request<Job>('jobs.create', { model: { selftest: true }, training: { epochs: 6 } })
    jobId = job.id
    await stepsSeen(first, jobId, 3)
    first.child.kill('SIGKILL')
    await first.exited

    const second = await startServe()
    // The trainer the dead host left behind paused itself and exited; none runs unsupervised.
    expect(trainerPids(jobId)).toEqual([])
    const recovered = await second.request<Job>('jobs.get', { jobId })
    expect(recovered.status).toBe('paused')
    const metrics = await second.request<MetricPoint[]>('jobs.metrics', { jobId })
    const written = stepsInEvents(jobId)
    expect(written.length).toBeGreaterThanOrEqual(3)
    expect(metrics.map((point) => point.step)).toEqual(written)
    expect(recovered.step).toBe(written.at(-1))

    await second.request<Job>('jobs.resume', { jobId })
    const done = await second.waitFor<Job>(
      'job.updated',
      (payload) => payload.id === jobId && ['completed', 'failed'].includes(payload.status),
    )
    expect(done.error).toBeNull()
    expect(done.status).toBe('completed')
    expect(done.adapterPath).not.toBeNull()
    expect(existsSync(done.adapterPath as string)).toBe(true)
    const final = await second.request<MetricPoint[]>('jobs.metrics', { jobId })
    expect(final.at(-1)?.step).toBe(done.totalSteps)
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
  }, 170_000)

  it('pauses a running job with a checkpoint on SIGTERM and exits 0', async () => {
    const serve = await startServe()
    const job = await serve.request<Job>('jobs.create', { model: { selftest: true }, training: { epochs: 6 } })
    await stepsSeen(serve, job.id, 2)
    serve.child.kill('SIGTERM')
    const paused = await serve.waitFor<Job>('job.updated', (payload) => payload.id === job.id && payload.status === 'paused', 60_000)
    expect(paused.step).toBeGreaterThanOrEqual(2)
    expect(await serve.exited).toBe(0)
    expect(trainerPids(job.id)).toEqual([])

    const again = await startServe()
    expect((await again.request<Job>('jobs.get', { jobId: job.id })).status).toBe('paused')
    const checkpoints = await again.request<Checkpoint[]>('jobs.checkpoints', { jobId: job.id })
    expect(checkpoints.some((checkpoint) => checkpoint.kind === 'pause' && checkpoint.step === paused.step)).toBe(true)
    again.child.kill('SIGTERM')
    expect(await again.exited).toBe(0)
  }, 120_000)
})
