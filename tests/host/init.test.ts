/**
 * A new job that starts from another job's checkpoint (initFrom), through
 * the host's dispatch with the real trainer on CPU: the new job takes the
 * checkpoint's base model and LoRA shape, completes, and starts from the
 * trained weights (its first loss is far below a fresh start's); a form that
 * asks for another rank or model, or names a checkpoint that is not whole,
 * is refused beside the field.
 * Needs TUNEDECK_PYTHON (the trainer's venv). About half a minute on 2 cores.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fieldErrorsOf } from '@shared/errors'
import type { Checkpoint, Job, MetricPoint, NewJobInput } from '@shared/jobs'
import { selftestModelPath, writeConfigFile } from '../../electron/host/jobs/config'
import { createHost, type Host } from '../../electron/host/host'
import { pythonRuntimeDir, resourcesDir, temporaryDir } from './jobs.harness'
import { dispatch, errorOf, waitFinished } from './routes'

const workDir = temporaryDir('tunedeck-init-')
const dataDir = path.join(workDir, 'data')
let host: Host
/** The source job: one self-test epoch (12 steps) with a periodic checkpoint every 6 steps. */
let source: Job
let sourceLosses: MetricPoint[] = []
const selftest = { model: { selftest: true }, training: { epochs: 1 } }

async function call<T>(route: string, input: unknown): Promise<T> {
  const result = await dispatch(host, route, input)
  if (!result.ok) throw new Error(`${route} failed: ${JSON.stringify(result.error)}`)
  return result.output as T
}

beforeAll(async () => {
  host = createHost({ dataDir, resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test' })
  await host.start()
  // Hold the queue so the source job's config can ask for periodic checkpoints before it runs.
  await call('queue.set', { running: false })
  source = await call<Job>('jobs.create', selftest)
  const config = { ...source.config, training: { ...source.config.training, checkpointEvery: 6, keepCheckpoints: 5 } }
  writeConfigFile(path.join(dataDir, 'jobs', source.id), config)
  await call('queue.set', { running: true })
  source = await waitFinished(host, source.id)
  sourceLosses = await call<MetricPoint[]>('jobs.metrics', { jobId: source.id })
})

afterAll(async () => {
  await host?.shutdown()
  fs.rmSync(workDir, { recursive: true, force: true })
})

describe('a new job from another job’s checkpoint', () => {
  it('has a whole periodic checkpoint to start from', async () => {
    expect(source.status).toBe('completed')
    const checkpoints = await call<Checkpoint[]>('jobs.checkpoints', { jobId: source.id })
    expect(checkpoints.map((checkpoint) => checkpoint.name)).toEqual(['step-6', 'step-12'])
  })

  it('takes the base model and LoRA shape from the checkpoint, completes, and starts from its weights', async () => {
    const input: NewJobInput = { ...selftest, initFrom: { jobId: source.id, checkpoint: 'step-12' }, lora: { rank: 16, alpha: 8 } }
    const created = await call<Job>('jobs.create', input)
    const folder = path.join(dataDir, 'jobs', source.id, 'checkpoints', 'step-12')
    expect(created.config.initFrom).toBe(folder)
    expect(created.config.model).toEqual({ path: selftestModelPath(dataDir), selftest: true, quantization: 'none' })
    // The checkpoint's alpha (32) wins: the weights were trained under that scaling.
    expect(created.config.lora).toMatchObject({ rank: 16, alpha: 32, targetModules: 'all-linear', dropout: 0 })
    expect(created.config.resumeFrom).toBeNull()
    const job = await waitFinished(host, created.id)
    expect(job.error).toBeNull()
    expect(job.status).toBe('completed')
    const losses = await call<MetricPoint[]>('jobs.metrics', { jobId: job.id })
    // A fresh optimizer, so the step count starts over; the weights do not.
    expect(losses[0]?.step).toBe(1)
    const freshStart = sourceLosses[0]?.loss as number
    const trainedEnd = sourceLosses[sourceLosses.length - 1]?.loss as number
    expect(losses[0]?.loss).toBeLessThan((freshStart + trainedEnd) / 2)
    expect(created.config.initOptimizer).toBe(false)
  })

  it('continues the checkpoint’s optimizer state when asked (initFrom.optimizer), the trainer saying so', async () => {
    const created = await call<Job>('jobs.create', { ...selftest, initFrom: { jobId: source.id, checkpoint: 'step-12', optimizer: true } })
    expect(created.config).toMatchObject({ initFrom: path.join(dataDir, 'jobs', source.id, 'checkpoints', 'step-12'), initOptimizer: true })
    const job = await waitFinished(host, created.id)
    expect(job.status).toBe('completed')
    const { text } = await call<{ text: string }>('jobs.terminal', { jobId: job.id })
    expect(text).toMatch(/optimizer: continuing the state of step-12 \(\d+ parameters\)/)
  })

  it('refuses a LoRA rank or a model other than the checkpoint’s, saying what it has', async () => {
    const initFrom = { jobId: source.id, checkpoint: 'step-6' }
    const rank = errorOf(await dispatch(host, 'jobs.create', { ...selftest, initFrom, lora: { rank: 8, alpha: 16 } }))
    expect(rank.code).toBe('invalid_input')
    expect(fieldErrorsOf(rank)['lora.rank']).toMatch(/has LoRA rank 16, not 8: set the rank to 16/)
    const otherModel = path.join(workDir, 'other-model')
    fs.mkdirSync(otherModel, { recursive: true })
    const model = errorOf(
      await dispatch(host, 'jobs.create', {
        ...selftest,
        model: { path: otherModel },
        dataset: { path: path.join(resourcesDir, 'selftest', 'dataset.jsonl') },
        initFrom,
      }),
    )
    expect(fieldErrorsOf(model)['model.path']).toContain(`was trained on ${selftestModelPath(dataDir)}`)
  })

  it('refuses a checkpoint that is not whole or does not exist, naming initFrom', async () => {
    const broken = path.join(dataDir, 'jobs', source.id, 'checkpoints', 'half')
    fs.mkdirSync(broken, { recursive: true })
    fs.writeFileSync(path.join(broken, 'state.json'), JSON.stringify({ complete: false, step: 3 }))
    const half = errorOf(await dispatch(host, 'jobs.create', { ...selftest, initFrom: { jobId: source.id, checkpoint: 'half' } }))
    expect(fieldErrorsOf(half).initFrom).toMatch(/"half" .* is not a whole checkpoint/)
    const gone = errorOf(await dispatch(host, 'jobs.create', { ...selftest, initFrom: { jobId: source.id, checkpoint: 'step-99' } }))
    expect(fieldErrorsOf(gone).initFrom).toMatch(/"step-99" .* does not exist/)
    const noJob = errorOf(await dispatch(host, 'jobs.create', { ...selftest, initFrom: { jobId: 'nojob', checkpoint: 'step-6' } }))
    expect(fieldErrorsOf(noJob).initFrom).toMatch(/no job with id nojob/)
    const sneaky = errorOf(await dispatch(host, 'jobs.create', { ...selftest, initFrom: { jobId: '..', checkpoint: 'step-6' } }))
    expect(fieldErrorsOf(sneaky)).toHaveProperty('initFrom')
  })

  it('keeps a checkpoint that a queued job starts from', async () => {
    await call('queue.set', { running: false })
    const waiting = await call<Job>('jobs.create', { ...selftest, initFrom: { jobId: source.id, checkpoint: 'step-6' } })
    const refused = errorOf(await dispatch(host, 'jobs.delete_checkpoint', { jobId: source.id, name: 'step-6' }))
    expect(refused).toMatchObject({ code: 'conflict', message: expect.stringContaining('starts from checkpoint "step-6"') })
    await call('jobs.cancel', { jobId: waiting.id })
    await call('jobs.delete_checkpoint', { jobId: source.id, name: 'step-6' })
    expect((await call<Checkpoint[]>('jobs.checkpoints', { jobId: source.id })).map((checkpoint) => checkpoint.name)).toEqual(['step-12'])
    await call('queue.set', { running: true })
  })
})

describe('the new-job form’s method and quantization', () => {
  it('pass into the config, with gradient checkpointing on for 4-bit loading', async () => {
    await call('queue.set', { running: false })
    const pairs = path.join(workDir, 'pairs.jsonl')
    fs.writeFileSync(pairs, `${JSON.stringify({ prompt: 'Hi?', chosen: 'Hello.', rejected: 'Go.' })}\n`)
    const dpo = await call<Job>('jobs.create', {
      ...selftest,
      method: 'dpo',
      model: { selftest: true, quantization: '4bit' },
      dataset: { path: pairs },
    })
    expect(dpo.config.method).toBe('dpo')
    expect(dpo.config.model.quantization).toBe('4bit')
    expect(dpo.config.training.gradientCheckpointing).toBe(true)
    expect(dpo.config.dpo.beta).toBe(0.1)
    const plain = await call<Job>('jobs.create', selftest)
    expect(plain.config).toMatchObject({
      method: 'sft',
      model: { quantization: 'none' },
      training: { gradientCheckpointing: false, oomRetry: true },
    })
    const written = JSON.parse(fs.readFileSync(path.join(dataDir, 'jobs', dpo.id, 'config.json'), 'utf8')) as Job['config']
    expect(written).toEqual(dpo.config)
    for (const job of [dpo, plain]) expect((await call<Job>('jobs.cancel', { jobId: job.id })).status).toBe('cancelled')
  })
})
