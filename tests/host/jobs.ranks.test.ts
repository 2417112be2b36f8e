/**
 * A job with training.gpus 2 through the host, the REAL trainer and a real pty: the trainer in
 * the pty becomes torchrun's launcher, two gloo ranks train on CPU, and the host sees one job
 * that completes with every step, the adapter, and both ranks started. Needs TUNEDECK_PYTHON.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Harness, temporaryDir } from './jobs.harness'

const dataDir = temporaryDir('tunedeck-ranks-')
let h: Harness

const savedDevices = process.env.CUDA_VISIBLE_DEVICES

beforeAll(async () => {
  // Two gloo ranks on CPU on any machine (the trainer inherits the host's environment).
  process.env.CUDA_VISIBLE_DEVICES = ''
  h = new Harness(dataDir)
  await h.service.start()
})

afterAll(async () => {
  if (savedDevices === undefined) delete process.env.CUDA_VISIBLE_DEVICES
  else process.env.CUDA_VISIBLE_DEVICES = savedDevices
  await h.service.shutdown()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

describe('a job on two ranks', () => {
  it('runs through torchrun in the pty to completed', async () => {
    const created = await h.request('jobs.create', { model: { selftest: true }, training: { epochs: 1, batchSize: 4, gpus: 2 } })
    const job = await h.waitForStatus(created.id, ['completed', 'failed', 'cancelled'], 400_000)
    expect(job.error).toBeNull()
    expect(job.status).toBe('completed')
    expect(fs.existsSync(path.join(job.adapterPath as string, 'adapter_model.safetensors'))).toBe(true)
    // Read raw: `ranks` is a field beyond the protocol's, which the host's parser need not keep.
    const lines = fs
      .readFileSync(path.join(h.jobDir(created.id), 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
    const events = lines.map((line) => JSON.parse(line) as { type: string; ranks?: number; totalSteps?: number })
    const started = events.find((event) => event.type === 'started')
    expect(started?.ranks).toBe(2)
    // The self-test's 96 rows (unpacked) in global micro-batches of 4 x 2: 12 steps, each ingested once.
    const metrics = await h.request('jobs.metrics', { jobId: created.id })
    expect(metrics.map((point) => point.step)).toEqual(Array.from({ length: 12 }, (_, index) => index + 1))
    expect(started?.totalSteps).toBe(12)
    const terminal = fs.readFileSync(path.join(h.jobDir(created.id), 'terminal.log'), 'utf8')
    expect(terminal).toContain('starting 2 ranks through torchrun')
  }, 420_000)
})
