/**
 * The handler map and dispatch: every declared route is handled (checked at
 * run time as well as by the compiler), and a wrong route or input comes back
 * as invalid_input naming the field, the way the new-job form shows it.
 * jobs.create turns the form's Advanced settings and presets into config.json.
 */
import { EvaluationService } from '../../electron/host/jobs/evaluation'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Handlers } from '@shared/api'
import { fieldErrorsOf } from '@shared/errors'
import type { Job } from '@shared/jobs'
import { routeNames } from '@shared/routes'
import { createHandlers } from '../../electron/host/handlers'
import { createHost, type Host } from '../../electron/host/host'
import { JobService } from '../../electron/host/jobs/service'
import { PythonEnvironment } from '../../electron/host/python/environment'
import { EnvironmentDoctor } from '../../electron/host/python/doctor'
import { GpuTelemetry } from '../../electron/host/gpu/telemetry'
import { dispatch, errorOf } from './routes'
import { DatasetPreviews } from '../../electron/host/datasets/previews'
import { ChatService } from '../../electron/host/chat/service'
import { DatasetLibrary } from '../../electron/host/datasets/library'
import { ExportService } from '../../electron/host/exports/service'
import { AdapterService } from '../../electron/host/adapters/service'
import { ModelService } from '../../electron/host/models/service'

const repoDir = resolve(__dirname, '../..')
const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-handlers-'))
let host: Host

beforeAll(async () => {
  host = createHost({
    dataDir: join(workDir, 'host'),
    resourcesDir: join(repoDir, 'resources'),
    pythonRuntimeDir: join(repoDir, 'python-runtime'),
    appVersion: '0.1.0-test',
  })
  await host.start()
})

afterAll(async () => {
  await host?.shutdown()
  rmSync(workDir, { recursive: true, force: true })
})

describe('handlers', () => {
  it('has exactly one handler per declared route', async () => {
    const dataDir = join(workDir, 'map')
    const python = new PythonEnvironment({ dataDir, pythonRuntimeDir: join(repoDir, 'python-runtime'), emit: () => undefined })
    const jobs = new JobService({
      dataDir,
      pythonRuntimeDir: join(repoDir, 'python-runtime'),
      resourcesDir: join(repoDir, 'resources'),
      resolvePython: () => python.resolvePython(),
      emit: () => undefined,
    })
    const telemetry = new GpuTelemetry()
    const handlers: Handlers = createHandlers({
      ...{ jobs, python, sampleGpu: () => telemetry.sample(), appVersion: 'x', dataDir },
      gpuHistory: () => ({ gpus: [] }), // never called: this test only lists the handlers
      doctor: new EnvironmentDoctor({ python, dataDir, pythonRuntimeDir: join(repoDir, 'python-runtime') }),
      previews: new DatasetPreviews({
        resolvePython: () => python.resolvePython(),
        pythonRuntimeDir: join(repoDir, 'python-runtime'),
        emit: () => undefined,
      }),
      exports: new ExportService({
        dataDir,
        appVersion: 'x',
        pythonRuntimeDir: '',
        resolvePython: () => python.resolvePython(),
        getJob: (id) => jobs.get(id),
        emit: () => undefined,
      }),
      chat: new ChatService({
        dataDir,
        pythonRuntimeDir: '',
        resolvePython: () => python.resolvePython(),
        getJob: (id) => jobs.get(id),
        busyJob: () => null,
        emit: () => undefined,
      }),
      adapters: new AdapterService({
        dataDir,
        appVersion: 'x',
        pythonRuntimeDir: '',
        resolvePython: () => python.resolvePython(),
        getJob: (id) => jobs.get(id),
      }),
      models: new ModelService({ dataDir, pythonRuntimeDir: '', resolvePython: () => python.resolvePython(), emit: () => undefined }),
      datasets: new DatasetLibrary({ dataDir, check: () => Promise.reject(new Error('not called')), listJobs: () => jobs.list() }),
      evaluations: new EvaluationService({
        resolvePython: () => python.resolvePython(),
        pythonRuntimeDir: '',
        jobDir: (id) => join(dataDir, 'jobs', id),
        emit: () => undefined,
      }),
    })
    expect(Object.keys(handlers).sort()).toEqual([...routeNames].sort())
    for (const route of routeNames) expect(typeof handlers[route]).toBe('function')
    await jobs.shutdown()
  })

  it('rejects an unknown route with invalid_input that names it', async () => {
    const error = errorOf(await dispatch(host, 'jobs.explode', {}))
    expect(error.code).toBe('invalid_input')
    expect(error.message).toContain('jobs.explode')
    // Prototype keys are not routes either.
    expect(errorOf(await dispatch(host, 'constructor', {})).code).toBe('invalid_input')
  })

  it('rejects malformed input with invalid_input naming the field', async () => {
    const missing = errorOf(await dispatch(host, 'jobs.get', {}))
    expect(missing.code).toBe('invalid_input')
    expect(missing.message).toMatch(/^Invalid input for jobs\.get: jobId: /)
    expect(Object.keys(fieldErrorsOf(missing))).toEqual(['jobId'])

    const nested = errorOf(await dispatch(host, 'jobs.create', { model: { selftest: true }, lora: { rank: 0, alpha: 16 } }))
    expect(nested.code).toBe('invalid_input')
    // Keyed by the config path for the form; told by the field's label for a person.
    expect(nested.message).toBe('LoRA rank: expected a whole number from 1 to 1024, got 0')
    expect(fieldErrorsOf(nested)).toHaveProperty(['lora.rank'])

    const queue = errorOf(await dispatch(host, 'queue.set', { concurrency: 0 }))
    expect(fieldErrorsOf(queue)).toHaveProperty('concurrency')
  })

  it("passes the engine's own errors through with their code and message", async () => {
    const error = errorOf(await dispatch(host, 'jobs.get', { jobId: 'nope' }))
    expect(error.code).toBe('not_found')
    expect(error.message).toContain('nope')
    // The result crosses process boundaries as JSON: nothing may be lost in the trip.
    expect(JSON.parse(JSON.stringify(error))).toEqual(error)
  })

  it('answers routes with outputs that match their schemas', async () => {
    const queue = await dispatch(host, 'queue.get', {})
    expect(queue).toEqual({ ok: true, output: { running: true, concurrency: 1 } })
    const list = await dispatch(host, 'jobs.list', undefined)
    expect(list).toEqual({ ok: true, output: [] })
  })
})

describe('jobs.create with the form’s Advanced settings and presets', () => {
  async function create(input: Record<string, unknown>): Promise<Job> {
    const result = await dispatch(host, 'jobs.create', { model: { selftest: true }, ...input })
    if (!result.ok) throw new Error(`jobs.create failed: ${JSON.stringify(result.error)}`)
    const job = result.output as Job
    // Only the config is under test: the queue is stopped, so cancel before anything runs.
    expect((await dispatch(host, 'jobs.cancel', { jobId: job.id })).ok).toBe(true)
    return job
  }

  beforeAll(async () => {
    await dispatch(host, 'queue.set', { running: false })
  })

  afterAll(async () => {
    await dispatch(host, 'queue.set', { running: true })
  })

  it('writes every Advanced setting into config.json under its config name', async () => {
    // DPO needs preference pairs: a file whose own column names the mapping renames.
    const pairs = join(workDir, 'pairs.jsonl')
    writeFileSync(pairs, `${JSON.stringify({ question: 'Hi?', good: 'Hello.', bad: 'Go.' })}\n`)
    const job = await create({
      method: 'dpo',
      dataset: { path: pairs, validationSplit: 0.25, badRows: 'skip', columns: { prompt: 'question', chosen: 'good', rejected: 'bad' } },
      training: { gradientAccumulation: 8, packing: true, trainOnInputs: true },
      lora: { dropout: 0, targetModules: ['q_proj', 'v_proj'], rslora: true, dora: true },
      dpo: { beta: 0.3 },
    })
    expect(job.config).toMatchObject({
      method: 'dpo',
      dataset: { columns: { prompt: 'question', chosen: 'good', rejected: 'bad' }, badRows: 'skip', validationSplit: 0.25 },
      lora: { dropout: 0, targetModules: ['q_proj', 'v_proj'], rslora: true, dora: true },
      training: { gradientAccumulation: 8, packing: true, trainOnInputs: true },
      dpo: { beta: 0.3 },
    })
    const written = JSON.parse(readFileSync(join(workDir, 'host', 'jobs', job.id, 'config.json'), 'utf8')) as Job['config']
    expect(written).toEqual(job.config)
  })

  it('refuses a method that does not fit what the dataset is read as, naming the method, the format and the one that fits', async () => {
    const feedback = join(repoDir, 'tests', 'fixtures', 'datasets', 'kto_messages.json')
    for (const method of ['dpo', 'sft'] as const) {
      const refused = errorOf(await dispatch(host, 'jobs.create', { model: { selftest: true }, method, dataset: { path: feedback } }))
      expect(refused.code).toBe('invalid_input')
      expect(fieldErrorsOf(refused).method).toBe(
        `Method: "${method}" does not train on kto_messages.json: it is read as "feedback", feedback rows (prompt, completion and a true/false label), which method "kto" trains on. Choose method "kto", or a dataset of another format.`,
      )
    }
    // A forced format is checked without reading the file.
    const forced = errorOf(
      await dispatch(host, 'jobs.create', { model: { selftest: true }, method: 'kto', dataset: { path: feedback, format: 'openai' } }),
    )
    expect(fieldErrorsOf(forced).method).toMatch(/it is read as "openai", conversations, which method "sft" trains on/)
    const fits = await create({ method: 'kto', dataset: { path: feedback } })
    expect(fits.config).toMatchObject({ method: 'kto', dataset: { format: 'auto' } })
  })

  it('lets typed values win over the preset’s, and keeps the self-test’s dataset format', async () => {
    const job = await create({ preset: 'advanced', training: { gradientAccumulation: 2, packing: false }, lora: { rslora: false } })
    expect(job.config.lora).toMatchObject({ rank: 64, alpha: 64, rslora: false })
    expect(job.config.training).toMatchObject({ learningRate: 0.0001, gradientAccumulation: 2, packing: false, weightDecay: 0.01 })
    // A form that leaves the format alone does not send "auto" over the self-test's own.
    expect(job.config.dataset.format).toBe('alpaca')
  })

  it('loads in 4-bit with the Efficient preset unless the form says not to', async () => {
    const fromPreset = await create({ preset: 'efficient' })
    expect(fromPreset.config.model.quantization).toBe('4bit')
    expect(fromPreset.config.training.gradientCheckpointing).toBe(true)
    const declined = await create({ preset: 'efficient', model: { selftest: true, quantization: 'none' } })
    expect(declined.config.model.quantization).toBe('none')
    expect(declined.config.training.gradientCheckpointing).toBe(false)
    expect(declined.config.training).toMatchObject({ batchSize: 1, gradientAccumulation: 16 })
  })

  it('refuses an unknown column-mapping field and a bad target module, naming the field', async () => {
    const columns = errorOf(await dispatch(host, 'jobs.create', { model: { selftest: true }, dataset: { columns: { answer: 'output' } } }))
    expect(fieldErrorsOf(columns)['dataset.columns.answer']).toMatch(
      /^Column mapping: "answer" is not a field Tunedeck reads; map one of instruction, input, output/,
    )
    const modules = errorOf(await dispatch(host, 'jobs.create', { model: { selftest: true }, lora: { targetModules: ['q_proj', ''] } }))
    expect(Object.keys(fieldErrorsOf(modules))).toEqual(['lora.targetModules.1'])
  })
})
