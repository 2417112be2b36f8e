/**
 * The job engine with stand-in trainers (tests/fixtures/trainers/scripted.py)
 * in a real pty over a real SQLite file: queue, final states, exit-code
 * cross-checks, cancel escalation, the watchdog, idempotent ingestion and
 * crash recovery. The real trainer is tested in jobs.trainer.test.ts.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it, onTestFinished } from 'vitest'
import { appError, type AppError } from '@shared/errors'
import { Store } from '../../electron/host/store'
import { ingestEvents } from '../../electron/host/jobs/ingest'
import { readEvents } from '../../electron/host/trainer/tailer'
import { Harness, processAlive, processesIn, scriptedTrainer, selftestDataset, temporaryDir, waitFor } from './jobs.harness'

const open: Harness[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const harness of open.splice(0)) await harness.service.shutdown()
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

/** A started service whose trainers play `scenario` (changeable between launches). */
async function harness(
  scenario: { current: string },
  options: ConstructorParameters<typeof Harness>[1] = {},
  dataDir?: string,
): Promise<Harness> {
  const dir = dataDir ?? temporaryDir()
  if (dataDir === undefined) dirs.push(dir)
  const created = new Harness(dir, { trainerCommand: scriptedTrainer(() => scenario.current), shutdownSeconds: 5, ...options })
  open.push(created)
  await created.service.start()
  return created
}

/** The error a route answered with; fails when it answered ok. */
async function rejected(answer: Promise<unknown>): Promise<AppError> {
  try {
    await answer
  } catch (error) {
    return error as AppError
  }
  throw new Error('expected the route to answer with an error')
}

const selftest = { model: { selftest: true } }

describe('job engine with fixture trainers', () => {
  it('names each job by its model and dataset, and never two jobs alike', async () => {
    const h = await harness({ current: 'complete' })
    await h.request('queue.set', { running: false })
    const names = []
    for (const input of [
      selftest,
      selftest,
      { model: { selftest: true }, dataset: { path: selftestDataset() } },
      { ...selftest, name: 'mine' },
      { ...selftest, name: 'mine' },
    ]) {
      names.push((await h.request('jobs.create', input)).name)
    }
    expect(names).toEqual(['Self-test', 'Self-test (2)', `Self-test on ${path.basename(selftestDataset())}`, 'mine', 'mine (2)'])
  })

  it('runs a job to completed, storing metrics, checkpoints and the terminal output', async () => {
    const h = await harness({ current: 'complete' })
    const created = await h.request('jobs.create', selftest)
    // The queue takes it at once, so it may already be starting.
    expect(created).toMatchObject({ name: 'Self-test', status: expect.stringMatching(/^(queued|starting)$/) })
    expect(created.config.model).toMatchObject({ selftest: true, path: path.join(h.dataDir, 'models', 'tiny-selftest') })
    expect(JSON.parse(fs.readFileSync(path.join(h.jobDir(created.id), 'config.json'), 'utf8'))).toEqual(created.config)

    const job = await h.waitForStatus(created.id, ['completed', 'failed'])
    expect(job).toMatchObject({ status: 'completed', step: 5, totalSteps: 5, loss: 0.4, queuePosition: null, error: null })
    expect(job.adapterPath).toBe(path.join(h.jobDir(created.id), 'adapter'))
    expect((await h.request('jobs.metrics', { jobId: created.id })).map((point) => point.step)).toEqual([1, 2, 3, 4, 5])
    expect(await h.request('jobs.checkpoints', { jobId: created.id })).toMatchObject([{ name: 'step-3', kind: 'periodic', step: 3 }])
    // The completed event can be read from events.jsonl before the pty has delivered the last output.
    let terminal = ''
    const readTerminal = async () => (terminal = (await h.request('jobs.terminal', { jobId: created.id })).text)
    await waitFor(
      async () => (await readTerminal()).includes('step 3/3 loss 0.6667'),
      10_000,
      () => `the terminal output, now: ${JSON.stringify(terminal)}`,
    )
    // A fast fixture may report started and completed in one read, so running can be skipped.
    expect(h.statuses(created.id).filter((status) => status !== 'running')).toEqual(['queued', 'starting', 'completed'])
    expect(h.payloads('job.metrics').flatMap((batch) => batch.points.map((point) => point.step))).toEqual([1, 2, 3, 4, 5])
    await waitFor(
      () =>
        h
          .payloads('job.terminal')
          .map((chunk) => chunk.data)
          .join('')
          .includes('done'),
      10_000,
      () => 'the last terminal output as job.terminal events',
    )
  })

  it('fails a job that reports completed without the adapter on disk', async () => {
    const h = await harness({ current: 'no-adapter' })
    const job = await h.waitForStatus((await h.request('jobs.create', selftest)).id, ['completed', 'failed'])
    expect(job.status).toBe('failed')
    expect(job.error?.message).toBe(
      `the trainer reported completed but the adapter is missing at ${path.join(h.jobDir(job.id), 'adapter', 'adapter_model.safetensors')}`,
    )
  })

  it('fails a trainer that exits without a final event, with the last terminal lines', async () => {
    const h = await harness({ current: 'exit-silent' })
    const job = await h.waitForStatus((await h.request('jobs.create', selftest)).id, ['completed', 'failed'])
    expect(job.status).toBe('failed')
    expect(job.error?.message).toBe('the trainer exited with code 2 without reporting a result')
    const lines = job.error?.traceback?.split('\n') ?? []
    expect(lines).toHaveLength(20)
    expect(lines.slice(-2)).toEqual(['Traceback (most recent call last):', 'RuntimeError: something broke'])
  })

  it('keeps a reported completion when the exit code disagrees, and says so in the terminal', async () => {
    const h = await harness({ current: 'wrong-exit' })
    const job = await h.waitForStatus((await h.request('jobs.create', selftest)).id, ['completed', 'failed'])
    expect(job.status).toBe('completed')
    // The completed event lands before the process exit is seen; the note comes with the exit.
    const note = 'the trainer reported completed but exited with code 1 (expected code 0)'
    let terminal = ''
    await waitFor(
      async () => (terminal = (await h.request('jobs.terminal', { jobId: job.id })).text).includes(note),
      10_000,
      () => terminal,
    )
    expect((await h.request('jobs.get', { jobId: job.id })).status).toBe('completed')
  })

  it('skips invalid and unknown event lines and waits for a line written in two parts', async () => {
    const h = await harness({ current: 'bad-lines' })
    const job = await h.waitForStatus((await h.request('jobs.create', selftest)).id, ['completed', 'failed'])
    expect(job.status).toBe('completed')
    expect(await h.request('jobs.metrics', { jobId: job.id })).toMatchObject([{ step: 1, loss: 1.5 }])
    const terminal = (await h.request('jobs.terminal', { jobId: job.id })).text
    expect(terminal).toContain('events.jsonl line 2 is not a valid trainer event (not JSON); skipped')
    expect(terminal).toMatch(/events.jsonl line 4 is not a valid trainer event \(step: /)
    expect(terminal).not.toContain('line 3 is not')
  })

  it('runs the queue in order, one at a time, and moves and cancels queued jobs', async () => {
    const h = await harness({ current: 'complete' })
    await h.request('queue.set', { running: false })
    const [a, b, c] = [
      await h.request('jobs.create', selftest),
      await h.request('jobs.create', selftest),
      await h.request('jobs.create', selftest),
    ]
    expect(a.id < b.id && b.id < c.id).toBe(true)
    expect((await h.request('queue.move', { jobId: c.id, position: 1 })).map((job) => [job.id, job.queuePosition])).toEqual([
      [c.id, 1],
      [a.id, 2],
      [b.id, 3],
    ])
    expect(await h.request('jobs.cancel', { jobId: a.id })).toMatchObject({ status: 'cancelled', queuePosition: null })
    expect((await h.request('jobs.get', { jobId: b.id })).queuePosition).toBe(2)
    expect(await rejected(h.request('jobs.pause', { jobId: b.id }))).toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('is queued'),
    })
    expect(await h.request('queue.get', {})).toEqual({ running: false, concurrency: 1 })
    await h.request('queue.set', { running: true })
    // Every window hears of the stop and the start, not only the one that clicked.
    expect(h.payloads('queue.updated')).toEqual([
      { running: false, concurrency: 1 },
      { running: true, concurrency: 1 },
    ])
    await h.waitForStatus(b.id, 'completed')
    const started = async (id: string) => (await h.request('jobs.get', { jobId: id })).startedAt ?? 0
    expect(await started(c.id)).toBeLessThan(await started(b.id))
    expect((await h.request('jobs.get', { jobId: c.id })).status).toBe('completed')
    expect((await h.request('jobs.get', { jobId: a.id })).startedAt).toBeNull()
    expect(await rejected(h.request('jobs.get', { jobId: 'nope' }))).toMatchObject({ code: 'not_found' })
    expect(await rejected(h.request('jobs.resume', { jobId: c.id }))).toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('is completed'),
    })
  })

  it("writes the form's checkpoint schedule into the job's config.json", async () => {
    const h = await harness({ current: 'complete' })
    await h.request('queue.set', { running: false })
    const job = await h.request('jobs.create', { ...selftest, training: { checkpointEvery: 25, keepCheckpoints: 4 } })
    const written = JSON.parse(fs.readFileSync(path.join(h.jobDir(job.id), 'config.json'), 'utf8')) as { training: Record<string, unknown> }
    expect(written.training).toMatchObject({ checkpointEvery: 25, keepCheckpoints: 4 })
  })

  it('refuses a model folder or dataset that does not exist, naming the field', async () => {
    const h = new Harness(temporaryDir())
    dirs.push(h.dataDir)
    open.push(h)
    const missingModel = await rejected(
      h.request('jobs.create', { model: { path: '/no/such/model' }, dataset: { path: selftestDataset() } }),
    )
    expect(missingModel).toMatchObject({
      code: 'invalid_input',
      data: { fields: { 'model.path': expect.stringContaining('/no/such/model') } },
    })
    // A hub id must be in the Hugging Face cache: first it is not, then a snapshot with config.json is.
    const cache = path.join(h.dataDir, 'hub-cache')
    const savedCache = process.env.HF_HUB_CACHE
    process.env.HF_HUB_CACHE = cache
    const notDownloaded = await rejected(
      h.request('jobs.create', { model: { path: 'Qwen/Qwen2.5-0.5B' }, dataset: { path: selftestDataset() } }),
    )
    expect(notDownloaded).toMatchObject({
      code: 'invalid_input',
      data: { fields: { 'model.path': expect.stringContaining('the hub id Qwen/Qwen2.5-0.5B is not downloaded') } },
    })
    const snapshot = path.join(cache, 'models--Qwen--Qwen2.5-0.5B', 'snapshots', 'c'.repeat(40))
    fs.mkdirSync(snapshot, { recursive: true })
    fs.writeFileSync(path.join(snapshot, 'config.json'), '{"model_type": "qwen2"}')
    fs.mkdirSync(path.join(cache, 'models--Qwen--Qwen2.5-0.5B', 'refs'))
    fs.writeFileSync(path.join(cache, 'models--Qwen--Qwen2.5-0.5B', 'refs', 'main'), 'c'.repeat(40))
    onTestFinished(() => {
      if (savedCache === undefined) delete process.env.HF_HUB_CACHE
      else process.env.HF_HUB_CACHE = savedCache
    })
    const missingData = await rejected(
      h.request('jobs.create', { model: { path: 'Qwen/Qwen2.5-0.5B' }, dataset: { path: '/no/data.jsonl' } }),
    )
    expect(missingData).toMatchObject({
      code: 'invalid_input',
      data: { fields: { 'dataset.path': expect.stringContaining('/no/data.jsonl') } },
    })
    const job = await h.request('jobs.create', {
      model: { path: 'Qwen/Qwen2.5-0.5B' },
      dataset: { path: selftestDataset() },
      preset: 'basic',
      training: { epochs: 2 },
    })
    // The preset gives rank 16 and 3 epochs; the typed value wins.
    expect(job.config.lora.rank).toBe(16)
    expect(job.config.training).toMatchObject({ epochs: 2, gradientAccumulation: 4 })
    expect((await h.request('presets.list', {})).map((preset) => preset.id)).toContain('basic')
  })

  it('cancels a trainer that ignores the command and Ctrl-C, killing every process of its tree', async () => {
    const h = await harness({ current: 'stubborn' })
    const created = await h.request('jobs.create', selftest)
    await h.waitForStatus(created.id, 'running')
    const pidsFile = path.join(h.jobDir(created.id), 'pids.txt')
    const readPids = () => (fs.existsSync(pidsFile) ? fs.readFileSync(pidsFile, 'utf8').split('\n').filter(Boolean).map(Number) : [])
    await waitFor(
      () => readPids().length >= 5,
      10_000,
      () => 'the fixture to start its children',
    )
    const pids = readPids()
    expect(pids.every(processAlive)).toBe(true)
    const cancelledAt = Date.now()
    await h.request('jobs.cancel', { jobId: created.id })
    const job = await h.waitForStatus(created.id, 'cancelled', 60_000)
    console.log(`a trainer that ignores cancel was killed ${Date.now() - cancelledAt} ms after jobs.cancel`)
    expect(job.status).toBe('cancelled')
    expect(pids.filter(processAlive)).toEqual([])
    expect((await h.request('jobs.terminal', { jobId: created.id })).text).toContain('fixture ignoring {"cmd":"cancel"}')
  })

  it('fails a trainer that stops responding and stops its process', async () => {
    const h = await harness({ current: 'hang' }, { watchdogSeconds: 2 })
    const created = await h.request('jobs.create', selftest)
    await h.waitForStatus(created.id, 'running')
    // The trainer, as `ps` shows it: the process working in the job's folder.
    const trainer = processesIn(h.jobDir(created.id))
    expect(trainer).not.toEqual([])
    const job = await h.waitForStatus(created.id, ['failed', 'completed'], 15_000)
    expect(job.error?.message).toBe('stopped responding: no event or heartbeat for 2 s')
    expect(trainer.filter(processAlive)).toEqual([])
  })

  it('ingests the same events file twice, and again after a restart, without changing a row', async () => {
    const scenario = { current: 'complete' }
    const dataDir = temporaryDir()
    dirs.push(dataDir)
    const h = await harness(scenario, {}, dataDir)
    const job = await h.waitForStatus((await h.request('jobs.create', selftest)).id, ['completed', 'failed'])
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
    expect((await again.request('jobs.get', { jobId: job.id })).status).toBe('completed')
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
    await first.request('queue.set', { running: false })
    const created = await first.request('jobs.create', selftest)
    await first.service.shutdown()
    open.splice(open.indexOf(first), 1)

    // What a host killed mid-run leaves: a running job, a dead pid, events with steps and a half-saved checkpoint.
    const jobDir = path.join(dataDir, 'jobs', created.id)
    const lines = [
      {
        seq: 1,
        type: 'started',
        step: 0,
        totalSteps: 5,
        epochs: 1,
        examples: 10,
        device: 'cpu',
        dtype: 'float32',
        trainableParams: 1,
        totalParams: 2,
      },
      { seq: 2, type: 'heartbeat', phase: 'training' },
      ...[1, 2, 3].map((step) => ({
        seq: step + 2,
        type: 'step',
        step,
        totalSteps: 5,
        loss: 3 - step / 2,
        lr: 1e-3,
        gradNorm: 1,
        tokens: 8,
        epoch: 0.2 * step,
        tokensPerSecond: 10,
      })),
    ]
    fs.writeFileSync(
      path.join(jobDir, 'events.jsonl'),
      lines.map((line) => JSON.stringify({ v: 1, time: 1_700_000_000, ...line }) + '\n').join('') + '{"v":1,"seq":6,"ty',
    )
    fs.mkdirSync(path.join(jobDir, 'checkpoints', '.tmp-step-4'), { recursive: true })
    const store = Store.open(dataDir)
    store.jobs.update(created.id, { status: 'starting', queuePosition: null })
    store.jobs.update(created.id, { status: 'running', pid: 999_999, pidStartTime: '1', eventsOffset: 0 })
    store.settings.set('queue', { running: false, concurrency: 1 })
    store.close()

    const second = await harness(scenario, {}, dataDir)
    const job = await second.request('jobs.get', { jobId: created.id })
    expect(job).toMatchObject({ status: 'interrupted', step: 3, totalSteps: 5, loss: 1.5 })
    expect((await second.request('jobs.metrics', { jobId: created.id })).map((point) => point.step)).toEqual([1, 2, 3])
    expect(fs.existsSync(path.join(jobDir, 'checkpoints', '.tmp-step-4'))).toBe(false)
    // No whole checkpoint: resume starts over, and the fixture then completes.
    fs.writeFileSync(path.join(jobDir, 'events.jsonl'), '')
    await second.request('queue.set', { running: true })
    expect(await second.request('jobs.resume', { jobId: created.id })).toMatchObject({
      status: 'queued',
      queuePosition: 1,
      config: { resumeFrom: null },
    })
    await second.waitForStatus(created.id, ['completed', 'failed'])
    expect((await second.request('jobs.get', { jobId: created.id })).status).toBe('completed')
  })

  it('pauses live jobs on shutdown and resumes them from the pause checkpoint after a restart', async () => {
    const scenario = { current: 'pausable' }
    const dataDir = temporaryDir()
    dirs.push(dataDir)
    const first = await harness(scenario, {}, dataDir)
    const created = await first.request('jobs.create', selftest)
    await waitFor(
      async () => (await first.request('jobs.get', { jobId: created.id })).step >= 3,
      10_000,
      () => 'a few steps',
    )
    await first.request('jobs.checkpoint', { jobId: created.id, name: 'keep-me' })
    expect(await rejected(first.request('jobs.checkpoint', { jobId: created.id, name: 'step-1' }))).toMatchObject({ code: 'invalid_input' })
    await waitFor(
      async () => (await first.request('jobs.checkpoints', { jobId: created.id })).length === 1,
      5000,
      () => 'the named checkpoint',
    )
    await first.service.shutdown()
    open.splice(open.indexOf(first), 1)
    expect(first.statuses(created.id).slice(-3)).toEqual(['running', 'pausing', 'paused'])

    const second = await harness(scenario, {}, dataDir)
    const paused = await second.request('jobs.get', { jobId: created.id })
    expect(paused.status).toBe('paused')
    const checkpoints = await second.request('jobs.checkpoints', { jobId: created.id })
    expect(checkpoints.map((checkpoint) => checkpoint.kind)).toEqual(['named', 'pause'])
    const pause = checkpoints[1]
    expect(pause?.step).toBe(paused.step)
    expect(await rejected(second.request('jobs.delete_checkpoint', { jobId: created.id, name: 'nope' }))).toMatchObject({
      code: 'not_found',
    })
    await second.request('jobs.delete_checkpoint', { jobId: created.id, name: 'keep-me' })
    expect(fs.existsSync(path.join(second.jobDir(created.id), 'checkpoints', 'keep-me'))).toBe(false)

    const resumed = await second.request('jobs.resume', { jobId: created.id })
    expect(resumed.config.resumeFrom).toBe(pause?.name)
    expect(JSON.parse(fs.readFileSync(path.join(second.jobDir(created.id), 'config.json'), 'utf8')).resumeFrom).toBe(pause?.name)
    const done = await second.waitForStatus(created.id, ['completed', 'failed'], 20_000)
    expect(done).toMatchObject({ status: 'completed', step: 20, id: created.id })
    expect((await second.request('jobs.metrics', { jobId: created.id })).map((point) => point.step)).toEqual(
      Array.from({ length: 20 }, (_, index) => index + 1),
    )
    expect((await second.request('jobs.terminal', { jobId: created.id })).text).toContain(
      `resuming from ${pause?.name} at step ${(pause?.step ?? 0) + 1}`,
    )
    expect(second.statuses(created.id)).toEqual(['queued', 'starting', 'running', 'completed'])
  })

  it('runs as many jobs at once as the concurrency setting allows', async () => {
    const h = await harness({ current: 'pausable' })
    await h.request('queue.set', { running: false, concurrency: 2 })
    const ids = [
      await h.request('jobs.create', selftest),
      await h.request('jobs.create', selftest),
      await h.request('jobs.create', selftest),
    ].map((job) => job.id)
    await h.request('queue.set', { running: true })
    const live = async () =>
      (await h.request('jobs.list', {})).filter((job) => ids.includes(job.id) && ['starting', 'running'].includes(job.status))
    await waitFor(
      async () => (await live()).length === 2,
      10_000,
      () => 'two jobs to run at once',
    )
    expect(await h.request('jobs.get', { jobId: ids[2] as string })).toMatchObject({ status: 'queued', queuePosition: 1 })
    for (const id of ids) await h.waitForStatus(id, 'completed', 20_000)
    expect(await rejected(h.request('queue.set', { concurrency: 0 }))).toMatchObject({
      code: 'invalid_input',
      data: { fields: { concurrency: expect.any(String) } },
    })
  })

  it('fails a job with the reason when no Python can be found', async () => {
    const h = await harness(
      { current: 'complete' },
      {
        trainerCommand: undefined,
        resolvePython: () => Promise.reject(appError('python_missing', 'No Python found: set up the environment in Settings')),
      },
    )
    const job = await h.waitForStatus((await h.request('jobs.create', selftest)).id, ['failed', 'completed'])
    expect(job.error?.message).toBe('No Python found: set up the environment in Settings')
  })
})
