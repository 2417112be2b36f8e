/**
 * The job engine with stand-in trainers (tests/fixtures/trainers/scripted.py)
 * in a real pty over a real SQLite file: queue, final states, exit-code
 * cross-checks, cancel escalation, the watchdog, idempotent ingestion and
 * crash recovery. The real trainer is tested in jobs.trainer.test.ts.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { appError, type AppError } from '../../electron/shared/errors'
import { Store } from '../../electron/host/store'
import { ingestEvents } from '../../electron/host/jobs/ingest'
import { readEvents } from '../../electron/host/trainer/tailer'
import { Harness, processAlive, scriptedTrainer, selftestDataset, temporaryDir, waitFor } from './jobs.harness'

const open: Harness[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const harness of open.splice(0)) await harness.service.shutdown()
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

/** A started service whose trainers play `scenario` (changeable between launches). */
async function harness(scenario: { current: string }, options: ConstructorParameters<typeof Harness>[1] = {}, dataDir?: string): Promise<Harness> {
  const dir = dataDir ?? temporaryDir()
  if (dataDir === undefined) dirs.push(dir)
  const created = new Harness(dir, { trainerCommand: scriptedTrainer(() => scenario.current), shutdownSeconds: 5, ...options })
  open.push(created)
  await created.service.start()
  return created
}

function thrown(action: () => unknown): AppError {
  try {
    action()
  } catch (error) {
    return error as AppError
  }
  throw new Error('expected an AppError')
}

const selftest = { model: { selftest: true } }

describe('job engine with fixture trainers', () => {
  it('runs a job to completed, storing metrics, checkpoints and the terminal output', async () => {
    const h = await harness({ current: 'complete' })
    const created = h.service.create(selftest)
    // The queue takes it at once, so it may already be starting.
    expect(created).toMatchObject({ name: 'Self-test', status: expect.stringMatching(/^(queued|starting)$/) })
    expect(created.config.model).toMatchObject({ selftest: true, path: path.join(h.dataDir, 'models', 'tiny-selftest') })
    expect(JSON.parse(fs.readFileSync(path.join(h.jobDir(created.id), 'config.json'), 'utf8'))).toEqual(created.config)

    const job = await h.waitForStatus(created.id, ['completed', 'failed'])
    expect(job).toMatchObject({ status: 'completed', step: 5, totalSteps: 5, loss: 0.4, queuePosition: null, error: null })
    expect(job.adapterPath).toBe(path.join(h.jobDir(created.id), 'adapter'))
    expect(h.service.metrics(created.id).map((point) => point.step)).toEqual([1, 2, 3, 4, 5])
    expect(h.service.checkpoints(created.id)).toMatchObject([{ name: 'step-3', kind: 'periodic', step: 3 }])
    // The completed event can be read from events.jsonl before the pty has delivered the last output.
    await waitFor(() => h.service.terminal(created.id).includes('step 3/3 loss 0.6667'), 10_000, () => `the terminal output, now: ${JSON.stringify(h.service.terminal(created.id))}`)
    // A fast fixture may report started and completed in one read, so running can be skipped.
    expect(h.statuses(created.id).filter((status) => status !== 'running')).toEqual(['queued', 'starting', 'completed'])
    expect(h.payloads('job.metrics').flatMap((batch) => batch.points.map((point) => point.step))).toEqual([1, 2, 3, 4, 5])
    await waitFor(() => h.payloads('job.terminal').map((chunk) => chunk.data).join('').includes('done'), 10_000, () => 'the last terminal output as job.terminal events')
  })

  it('fails a job that reports completed without the adapter on disk', async () => {
    const h = await harness({ current: 'no-adapter' })
    const job = await h.waitForStatus(h.service.create(selftest).id, ['completed', 'failed'])
    expect(job.status).toBe('failed')
    expect(job.error?.message).toBe(
      `the trainer reported completed but the adapter is missing at ${path.join(h.jobDir(job.id), 'adapter', 'adapter_model.safetensors')}`,
    )
  })

  it('fails a trainer that exits without a final event, with the last terminal lines', async () => {
    const h = await harness({ current: 'exit-silent' })
    const job = await h.waitForStatus(h.service.create(selftest).id, ['completed', 'failed'])
    expect(job.status).toBe('failed')
    expect(job.error?.message).toBe('the trainer exited with code 2 without reporting a result')
    const lines = job.error?.traceback?.split('\n') ?? []
    expect(lines).toHaveLength(20)
    expect(lines.slice(-2)).toEqual(['Traceback (most recent call last):', 'RuntimeError: something broke'])
  })

  it('keeps a reported completion when the exit code disagrees, and says so in the terminal', async () => {
    const h = await harness({ current: 'wrong-exit' })
    const job = await h.waitForStatus(h.service.create(selftest).id, ['completed', 'failed'])
    expect(job.status).toBe('completed')
    // The completed event lands before the process exit is seen; the note comes with the exit.
    const note = 'the trainer reported completed but exited with code 1 (expected code 0)'
    await waitFor(() => h.service.terminal(job.id).includes(note), 10_000, () => h.service.terminal(job.id))
    expect(h.service.get(job.id).status).toBe('completed')
  })

  it('skips invalid and unknown event lines and waits for a line written in two parts', async () => {
    const h = await harness({ current: 'bad-lines' })
    const job = await h.waitForStatus(h.service.create(selftest).id, ['completed', 'failed'])
    expect(job.status).toBe('completed')
    expect(h.service.metrics(job.id)).toMatchObject([{ step: 1, loss: 1.5 }])
    const terminal = h.service.terminal(job.id)
    expect(terminal).toContain('events.jsonl line 2 is not a valid trainer event (not JSON); skipped')
    expect(terminal).toMatch(/events.jsonl line 4 is not a valid trainer event \(step: /)
    expect(terminal).not.toContain('line 3 is not')
  })

  it('runs the queue in order, one at a time, and moves and cancels queued jobs', async () => {
    const h = await harness({ current: 'complete' })
    h.service.setQueue({ running: false })
    const [a, b, c] = [h.service.create(selftest), h.service.create(selftest), h.service.create(selftest)]
    expect(a.id < b.id && b.id < c.id).toBe(true)
    expect(h.service.move(c.id, 1).map((job) => [job.id, job.queuePosition])).toEqual([
      [c.id, 1],
      [a.id, 2],
      [b.id, 3],
    ])
    expect(h.service.cancel(a.id)).toMatchObject({ status: 'cancelled', queuePosition: null })
    expect(h.service.get(b.id).queuePosition).toBe(2)
    expect(thrown(() => h.service.pause(b.id))).toMatchObject({ code: 'conflict', message: expect.stringContaining('is queued') })
    expect(h.service.queueState()).toEqual({ running: false, concurrency: 1 })
    h.service.setQueue({ running: true })
    // Every window hears of the stop and the start, not only the one that clicked.
    expect(h.payloads('queue.updated')).toEqual([
      { running: false, concurrency: 1 },
      { running: true, concurrency: 1 },
    ])
    await h.waitForStatus(b.id, 'completed')
    const started = (id: string) => h.service.get(id).startedAt ?? 0
    expect(started(c.id)).toBeLessThan(started(b.id))
    expect(h.service.get(c.id).status).toBe('completed')
    expect(h.service.get(a.id).startedAt).toBeNull()
    expect(thrown(() => h.service.get('nope'))).toMatchObject({ code: 'not_found' })
    expect(thrown(() => h.service.resume(c.id))).toMatchObject({ code: 'conflict', message: expect.stringContaining('is completed') })
  })

  it('writes the form\'s checkpoint schedule into the job\'s config.json', async () => {
    const h = await harness({ current: 'complete' })
    await h.service.setQueue({ running: false })
    const job = h.service.create({ ...selftest, training: { checkpointEvery: 25, keepCheckpoints: 4 } })
    const written = JSON.parse(fs.readFileSync(path.join(h.jobDir(job.id), 'config.json'), 'utf8')) as { training: Record<string, unknown> }
    expect(written.training).toMatchObject({ checkpointEvery: 25, keepCheckpoints: 4 })
  })

  it('refuses a model folder or dataset that does not exist, naming the field', () => {
    const h = new Harness(temporaryDir())
    dirs.push(h.dataDir)
    open.push(h)
    const missingModel = thrown(() => h.service.create({ model: { path: '/no/such/model' }, dataset: { path: selftestDataset() } }))
    expect(missingModel).toMatchObject({ code: 'invalid_input', data: { fields: { 'model.path': expect.stringContaining('/no/such/model') } } })
    const missingData = thrown(() => h.service.create({ model: { path: 'Qwen/Qwen2.5-0.5B' }, dataset: { path: '/no/data.jsonl' } }))
    expect(missingData).toMatchObject({ code: 'invalid_input', data: { fields: { 'dataset.path': expect.stringContaining('/no/data.jsonl') } } })
    const job = h.service.create({ model: { path: 'Qwen/Qwen2.5-0.5B' }, dataset: { path: selftestDataset() }, preset: 'basic', training: { epochs: 2 } })
    // The preset gives rank 16 and 3 epochs; the typed value wins.
    expect(job.config.lora.rank).toBe(16)
    expect(job.config.training).toMatchObject({ epochs: 2, gradientAccumulation: 4 })
    expect(h.service.presets().map((preset) => preset.id)).toContain('basic')
  })

  it('cancels a trainer that ignores the command and Ctrl-C, killing every process of its tree', async () => {
    const h = await harness({ current: 'stubborn' })
    const created = h.service.create(selftest)
    await h.waitForStatus(created.id, 'running')
    const pidsFile = path.join(h.jobDir(created.id), 'pids.txt')
    const readPids = () => (fs.existsSync(pidsFile) ? fs.readFileSync(pidsFile, 'utf8').split('\n').filter(Boolean).map(Number) : [])
    await waitFor(() => readPids().length >= 5, 10_000, () => 'the fixture to start its children')
    const pids = readPids()
    expect(pids.every(processAlive)).toBe(true)
    const cancelledAt = Date.now()
    h.service.cancel(created.id)
    const job = await h.waitForStatus(created.id, 'cancelled', 12_000)
    expect(Date.now() - cancelledAt).toBeLessThan(10_000)
    expect(job.status).toBe('cancelled')
    expect(pids.filter(processAlive)).toEqual([])
    expect(h.service.terminal(created.id)).toContain('fixture ignoring {"cmd":"cancel"}')
  })

  it('fails a trainer that stops responding and stops its process', async () => {
    const h = await harness({ current: 'hang' }, { watchdogSeconds: 2 })
    const created = h.service.create(selftest)
    await h.waitForStatus(created.id, 'running')
    const pid = (h.service as unknown as { runs: Map<string, { pid: number }> }).runs.get(created.id)?.pid as number
    const job = await h.waitForStatus(created.id, ['failed', 'completed'], 15_000)
    expect(job.error?.message).toBe('stopped responding: no event or heartbeat for 2 s')
    expect(processAlive(pid)).toBe(false)
  })

  it('ingests the same events file twice, and again after a restart, without changing a row', async () => {
    const scenario = { current: 'complete' }
    const dataDir = temporaryDir()
    dirs.push(dataDir)
    const h = await harness(scenario, {}, dataDir)
    const job = await h.waitForStatus(h.service.create(selftest).id, ['completed', 'failed'])
    await h.service.shutdown()
    open.splice(open.indexOf(h), 1)

    const dump = (store: Store) => ({
      jobs: store.db.prepare('SELECT id, status, step, total_steps, loss, adapter_path, error FROM jobs').all(),
      metrics: store.db.prepare('SELECT * FROM metrics ORDER BY step').all(),
      checkpoints: store.db.prepare('SELECT * FROM checkpoints').all(),
      seqs: store.db.prepare('SELECT COUNT(*) AS n FROM ingested_events').get(),
    })
    const store = Store.open(dataDir)
    const before = dump(store)
    const file = path.join(h.jobDir(job.id), 'events.jsonl')
    for (let time = 0; time < 2; time += 1) {
      const batch = readEvents(file, 0, () => undefined)
      const result = ingestEvents(store, job.id, h.jobDir(job.id), batch.events, batch.offset)
      expect(result.points).toEqual([])
    }
    expect(dump(store)).toEqual(before)
    store.close()

    const again = await harness(scenario, {}, dataDir)
    expect(again.service.get(job.id).status).toBe('completed')
    await again.service.shutdown()
    const reopened = Store.open(dataDir)
    expect(dump(reopened)).toEqual(before)
    reopened.close()
  })

  it('recovers a job left running by a crashed host as interrupted, keeping its metrics', async () => {
    const scenario = { current: 'complete' }
    const dataDir = temporaryDir()
    dirs.push(dataDir)
    const first = await harness(scenario, {}, dataDir)
    first.service.setQueue({ running: false })
    const created = first.service.create(selftest)
    await first.service.shutdown()
    open.splice(open.indexOf(first), 1)

    // What a host killed mid-run leaves: a running job, a dead pid, events with steps and a half-saved checkpoint.
    const jobDir = path.join(dataDir, 'jobs', created.id)
    const lines = [
      { seq: 1, type: 'started', step: 0, totalSteps: 5, epochs: 1, examples: 10, device: 'cpu', dtype: 'float32', trainableParams: 1, totalParams: 2 },
      { seq: 2, type: 'heartbeat', phase: 'training' },
      ...[1, 2, 3].map((step) => ({ seq: step + 2, type: 'step', step, totalSteps: 5, loss: 3 - step / 2, lr: 1e-3, gradNorm: 1, tokens: 8, epoch: 0.2 * step, tokensPerSecond: 10 })),
    ]
    fs.writeFileSync(path.join(jobDir, 'events.jsonl'), lines.map((line) => JSON.stringify({ v: 1, time: 1_700_000_000, ...line }) + '\n').join('') + '{"v":1,"seq":6,"ty')
    fs.mkdirSync(path.join(jobDir, 'checkpoints', '.tmp-step-4'), { recursive: true })
    const store = Store.open(dataDir)
    store.jobs.update(created.id, { status: 'running', queuePosition: null, pid: 999_999, pidStartTime: '1', eventsOffset: 0 })
    store.settings.set('queue', { running: false, concurrency: 1 })
    store.close()

    const second = await harness(scenario, {}, dataDir)
    const job = second.service.get(created.id)
    expect(job).toMatchObject({ status: 'interrupted', step: 3, totalSteps: 5, loss: 1.5 })
    expect(second.service.metrics(created.id).map((point) => point.step)).toEqual([1, 2, 3])
    expect(fs.existsSync(path.join(jobDir, 'checkpoints', '.tmp-step-4'))).toBe(false)
    // No whole checkpoint: resume starts over, and the fixture then completes.
    fs.writeFileSync(path.join(jobDir, 'events.jsonl'), '')
    second.service.setQueue({ running: true })
    expect(second.service.resume(created.id)).toMatchObject({ status: 'queued', queuePosition: 1, config: { resumeFrom: null } })
    await second.waitForStatus(created.id, ['completed', 'failed'])
    expect(second.service.get(created.id).status).toBe('completed')
  })

  it('pauses live jobs on shutdown and resumes them from the pause checkpoint after a restart', async () => {
    const scenario = { current: 'pausable' }
    const dataDir = temporaryDir()
    dirs.push(dataDir)
    const first = await harness(scenario, {}, dataDir)
    const created = first.service.create(selftest)
    await waitFor(() => first.service.get(created.id).step >= 3, 10_000, () => 'a few steps')
    first.service.checkpoint(created.id, 'keep-me')
    expect(() => first.service.checkpoint(created.id, 'step-1')).toThrow()
    await waitFor(() => first.service.checkpoints(created.id).length === 1, 5000, () => 'the named checkpoint')
    await first.service.shutdown()
    open.splice(open.indexOf(first), 1)
    expect(first.statuses(created.id).slice(-3)).toEqual(['running', 'pausing', 'paused'])

    const second = await harness(scenario, {}, dataDir)
    const paused = second.service.get(created.id)
    expect(paused.status).toBe('paused')
    const checkpoints = second.service.checkpoints(created.id)
    expect(checkpoints.map((checkpoint) => checkpoint.kind)).toEqual(['named', 'pause'])
    const pause = checkpoints[1]
    expect(pause?.step).toBe(paused.step)
    expect(thrown(() => second.service.deleteCheckpoint(created.id, 'nope'))).toMatchObject({ code: 'not_found' })
    second.service.deleteCheckpoint(created.id, 'keep-me')
    expect(fs.existsSync(path.join(second.jobDir(created.id), 'checkpoints', 'keep-me'))).toBe(false)

    const resumed = second.service.resume(created.id)
    expect(resumed.config.resumeFrom).toBe(pause?.name)
    expect(JSON.parse(fs.readFileSync(path.join(second.jobDir(created.id), 'config.json'), 'utf8')).resumeFrom).toBe(pause?.name)
    const done = await second.waitForStatus(created.id, ['completed', 'failed'], 20_000)
    expect(done).toMatchObject({ status: 'completed', step: 20, id: created.id })
    expect(second.service.metrics(created.id).map((point) => point.step)).toEqual(Array.from({ length: 20 }, (_, index) => index + 1))
    expect(second.service.terminal(created.id)).toContain(`resuming from ${pause?.name} at step ${(pause?.step ?? 0) + 1}`)
    expect(second.statuses(created.id)).toEqual(['queued', 'starting', 'running', 'completed'])
  })

  it('runs as many jobs at once as the concurrency setting allows', async () => {
    const h = await harness({ current: 'pausable' })
    h.service.setQueue({ running: false, concurrency: 2 })
    const ids = [h.service.create(selftest), h.service.create(selftest), h.service.create(selftest)].map((job) => job.id)
    h.service.setQueue({ running: true })
    const live = () => ids.filter((id) => ['starting', 'running'].includes(h.service.get(id).status))
    await waitFor(() => live().length === 2, 10_000, () => 'two jobs to run at once')
    expect(h.service.get(ids[2] as string)).toMatchObject({ status: 'queued', queuePosition: 1 })
    for (const id of ids) await h.waitForStatus(id, 'completed', 20_000)
    expect(thrown(() => h.service.setQueue({ concurrency: 0 }))).toMatchObject({ code: 'invalid_input', data: { fields: { concurrency: expect.any(String) } } })
  })

  it('fails a job with the reason when no Python can be found', async () => {
    const h = await harness({ current: 'complete' }, {
      trainerCommand: undefined,
      resolvePython: () => Promise.reject(appError('python_missing', 'No Python found: set up the environment in Settings')),
    })
    const job = await h.waitForStatus(h.service.create(selftest).id, ['failed', 'completed'])
    expect(job.error?.message).toBe('No Python found: set up the environment in Settings')
  })
})
