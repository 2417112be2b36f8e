/**
 * The job engine with the REAL trainer (python-runtime) on CPU, in a real
 * pty, over a real SQLite file: the self-test completes, failures name the
 * field, pause and resume give the same losses as an uninterrupted run, and
 * a job left running by a crashed host is recovered and finished.
 * Needs TUNEDECK_PYTHON (the trainer's venv). About a minute on 2 cores.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MetricPoint } from '@shared/jobs'
import { writeConfigFile } from '../../electron/host/jobs/config'
import { Store } from '../../electron/host/store'
import { readEvents } from '../../electron/host/trainer/tailer'
import { processStartTime } from '../../electron/host/trainer/tree'
import { Harness, processAlive, python, pythonRuntimeDir, selftestDataset, temporaryDir, waitFor } from './jobs.harness'

const dataDir = temporaryDir('tunedeck-trainer-')
let h: Harness
/** The per-step losses of an uninterrupted self-test run, which every resumed run must repeat. */
let reference: MetricPoint[] = []
/** The self-test with one epoch: 12 optimizer steps of the tiny model. */
const selftest = { model: { selftest: true }, training: { epochs: 1 } }

beforeAll(async () => {
  h = new Harness(dataDir)
  await h.service.start()
})

afterAll(async () => {
  await h.service.shutdown()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

function expectSameLosses(points: MetricPoint[]): void {
  expect(points.map((point) => point.step)).toEqual(reference.map((point) => point.step))
  points.forEach((point, index) => expect(Math.abs(point.loss - (reference[index]?.loss ?? NaN))).toBeLessThan(1e-6))
}

describe('job engine with the real trainer', () => {
  it('runs the self-test to completed with metrics, adapter and terminal output', async () => {
    const created = await h.request('jobs.create', selftest)
    const job = await h.waitForStatus(created.id, ['completed', 'failed', 'cancelled'], 120_000)
    expect(job.error).toBeNull()
    expect(job.status).toBe('completed')
    expect(fs.existsSync(path.join(job.adapterPath as string, 'adapter_model.safetensors'))).toBe(true)
    // Read back from the SQLite file itself, as a restarted host would.
    const store = Store.open(dataDir)
    reference = store.metrics.list(created.id)
    store.close()
    expect(reference.length).toBeGreaterThanOrEqual(10)
    expect(job.step).toBe(reference.length)
    expect(reference[reference.length - 1]?.loss).toBeLessThan(reference[0]?.loss as number)
    // The trainer prints its last line after the completed event, and the pty may deliver it later still.
    await waitFor(
      () => fs.readFileSync(path.join(h.jobDir(created.id), 'terminal.log'), 'utf8').includes('completed'),
      10_000,
      () => "the trainer's last line in terminal.log",
    )
    expect(
      h
        .payloads('job.metrics')
        .filter((batch) => batch.jobId === created.id)
        .flatMap((batch) => batch.points),
    ).toHaveLength(reference.length)
    expect(h.payloads('job.terminal').some((chunk) => chunk.jobId === created.id && chunk.data.length > 0)).toBe(true)
    expect(h.statuses(created.id)).toEqual(['queued', 'starting', 'running', 'completed'])
    // What the job page shows besides the curve, from the trainer's dataset and memory events.
    const report = await h.request('jobs.report', { jobId: created.id })
    expect(report.dataset).toMatchObject({ format: 'alpaca', examples: 96, skipped: 0 })
    expect(report.memory?.estimatedMb).toBeGreaterThan(0)
    expect(report.memory?.fits).toBeNull() // no GPU to compare with
    expect((await h.request('jobs.metrics', { jobId: created.id })).every((point) => point.mfu === null)).toBe(true) // no known GPU, no MFU
    expect(h.payloads('job.report').some((payload) => payload.jobId === created.id && payload.dataset !== null)).toBe(true)
  })

  it('fails a job whose model folder does not exist, naming model.path', async () => {
    await h.request('queue.set', { running: false })
    const created = await h.request('jobs.create', selftest)
    // Bypass create()'s own check, as a model deleted after queueing would.
    writeConfigFile(h.jobDir(created.id), {
      ...created.config,
      model: { ...created.config.model, path: path.join(dataDir, 'deleted-model'), selftest: false },
    })
    await h.request('queue.set', { running: true })
    const job = await h.waitForStatus(created.id, ['completed', 'failed'], 60_000)
    expect(job.status).toBe('failed')
    expect(job.error).toMatchObject({ field: 'model.path', message: expect.stringContaining('deleted-model') })
  })

  it('fails a job whose dataset has a bad row, naming the file and line', async () => {
    const rows = fs.readFileSync(selftestDataset(), 'utf8').split('\n').filter(Boolean)
    const badFile = path.join(dataDir, 'bad.jsonl')
    fs.writeFileSync(badFile, [...rows.slice(0, 4), '{"instruction": 5, "output": "x"}', ...rows.slice(4, 10)].join('\n') + '\n')
    const job = await h.waitForStatus(
      (await h.request('jobs.create', { ...selftest, dataset: { path: badFile } })).id,
      ['completed', 'failed'],
      60_000,
    )
    expect(job.status).toBe('failed')
    expect(job.error?.field).toBe('dataset.path')
    expect(job.error?.message).toContain('bad.jsonl line 5')
  })

  it('cancels a running trainer, which stops by itself well before the kill', async () => {
    const created = await h.request('jobs.create', selftest)
    await waitFor(
      async () => (await h.request('jobs.get', { jobId: created.id })).step >= 1,
      60_000,
      () => 'the first step',
    )
    const cancelledAt = Date.now()
    await h.request('jobs.cancel', { jobId: created.id })
    const job = await h.waitForStatus(created.id, ['cancelled', 'completed', 'failed'], 15_000)
    expect(job.status).toBe('cancelled')
    console.log(`cancel: the trainer ended ${Date.now() - cancelledAt} ms after jobs.cancel`)
    // It stopped by itself: its own last event says so (a killed trainer writes nothing more).
    const events = fs
      .readFileSync(path.join(h.jobDir(created.id), 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
    expect(JSON.parse(events.at(-1) ?? '{}')).toMatchObject({ type: 'cancelled' })
    expect((await h.request('jobs.terminal', { jobId: created.id })).text).not.toContain('expected code')
  })

  it('pauses and resumes through the pty with the same id and the same losses as an uninterrupted run', async () => {
    const created = await h.request('jobs.create', selftest)
    await waitFor(
      async () => (await h.request('jobs.get', { jobId: created.id })).step >= 2,
      60_000,
      () => 'two steps',
    )
    await h.request('jobs.checkpoint', { jobId: created.id, name: 'before-pause' })
    await waitFor(
      async () => (await h.request('jobs.checkpoints', { jobId: created.id })).length > 0,
      30_000,
      () => 'the named checkpoint',
    )
    expect((await h.request('jobs.pause', { jobId: created.id })).status).toBe('pausing')
    const paused = await h.waitForStatus(created.id, ['paused', 'completed', 'failed'], 60_000)
    expect(paused.status).toBe('paused')
    expect(paused.step).toBeLessThan(reference.length)
    const resumed = await h.request('jobs.resume', { jobId: created.id })
    expect(resumed).toMatchObject({ id: created.id, status: 'queued', queuePosition: 1 })
    expect(resumed.config.resumeFrom).toBe(`pause-${paused.step}`)
    expect((await h.request('jobs.checkpoints', { jobId: created.id })).map((checkpoint) => [checkpoint.name, checkpoint.kind])).toEqual([
      ['before-pause', 'named'],
      [`pause-${paused.step}`, 'pause'],
    ])
    const job = await h.waitForStatus(created.id, ['completed', 'failed'], 120_000)
    expect(job.status).toBe('completed')
    expectSameLosses(await h.request('jobs.metrics', { jobId: created.id }))
    const seen = h.statuses(created.id).filter((status) => status !== 'starting')
    expect(seen).toEqual(['queued', 'running', 'pausing', 'paused', 'queued', 'running', 'completed'])
  })

  it('recovers a job whose host died mid-run, stopping its orphaned trainer, and resumes it to completion', async () => {
    await h.request('queue.set', { running: false })
    const created = await h.request('jobs.create', selftest)
    await h.service.shutdown()

    // What a crashed host leaves: the job marked running and its trainer still going, unsupervised.
    const jobDir = h.jobDir(created.id)
    const config = { ...created.config, training: { ...created.config.training, checkpointEvery: 3 } }
    writeConfigFile(jobDir, config)
    const orphan = spawn(python, ['-m', 'tunedeck_trainer', 'train', '--job-dir', jobDir], {
      cwd: jobDir,
      env: { ...process.env, PYTHONPATH: pythonRuntimeDir, PYTHONUNBUFFERED: '1' },
      detached: true,
      stdio: 'ignore',
    })
    const pid = orphan.pid as number
    const store = Store.open(dataDir)
    store.jobs.update(created.id, { status: 'starting', queuePosition: null })
    store.jobs.update(created.id, { config, status: 'running', startedAt: Date.now(), pid, pidStartTime: processStartTime(pid) })
    store.close()
    const eventsFile = path.join(jobDir, 'events.jsonl')
    const steps = () => readEvents(eventsFile, 0, () => undefined).events.filter((event) => event.type === 'step')
    await waitFor(
      () => steps().length >= 5,
      60_000,
      () => 'the orphaned trainer to train five steps',
    )

    h = new Harness(dataDir)
    await h.service.start()
    expect(processAlive(pid)).toBe(false)
    const job = await h.request('jobs.get', { jobId: created.id })
    expect(job.status).toBe('interrupted')
    const fromFile = steps().map((event) => event.step)
    expect(fromFile.length).toBeGreaterThanOrEqual(5)
    expect((await h.request('jobs.metrics', { jobId: created.id })).map((point) => point.step)).toEqual(fromFile)
    expect(job.step).toBe(fromFile[fromFile.length - 1])

    await h.request('queue.set', { running: true })
    const resumed = await h.request('jobs.resume', { jobId: created.id })
    expect(resumed.config.resumeFrom).toMatch(/^step-(3|6|9)$/)
    const done = await h.waitForStatus(created.id, ['completed', 'failed'], 120_000)
    expect(done.status).toBe('completed')
    expectSameLosses(await h.request('jobs.metrics', { jobId: created.id }))
  })
})
