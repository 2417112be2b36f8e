/**
 * The encoded-data cache through the host: a self-test job on a library dataset encodes it once
 * into <data>/cache/encoded (the trainer's log says so), a second job on the same dataset reads
 * it back and trains the same losses, the dataset's entry shows the cache's size, and
 * datasets.delete_encoded clears it. Real host, real trainer. Needs TUNEDECK_PYTHON; a minute.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MetricPoint } from '@shared/jobs'
import { encodedCacheFolder } from '../../electron/host/datasets/encodedCache'
import { createHost, type Host } from '../../electron/host/host'
import { python, pythonRuntimeDir, resourcesDir, temporaryDir } from './jobs.harness'
import { request, waitFinished } from './routes'

const workDir = temporaryDir('tunedeck-encoded-')
const dataDir = path.join(workDir, 'data')
let host: Host

beforeAll(async () => {
  process.env.TUNEDECK_PYTHON ??= python
  host = createHost({ dataDir, resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test' })
  await host.start()
})

afterAll(async () => {
  await host?.shutdown()
  fs.rmSync(workDir, { recursive: true, force: true })
})

async function trainOn(datasetPath: string): Promise<{ losses: MetricPoint[]; terminal: string }> {
  const created = await request(host, 'jobs.create', {
    model: { selftest: true },
    dataset: { path: datasetPath },
    training: { epochs: 1, maxSteps: 3 },
  })
  const job = await waitFinished(host, created.id, 300_000)
  expect(job.status).toBe('completed')
  const losses = await request(host, 'jobs.metrics', { jobId: job.id })
  const { text } = await request(host, 'jobs.terminal', { jobId: job.id })
  return { losses, terminal: text }
}

describe('the encoded-data cache', () => {
  it('encodes a dataset once for two jobs, shows its size and clears it', { timeout: 600_000 }, async () => {
    const file = path.join(workDir, 'chats.jsonl')
    fs.copyFileSync(path.join(resourcesDir, 'selftest', 'dataset.jsonl'), file)
    const { dataset } = await request(host, 'datasets.import', { path: file })
    expect(dataset.encodedBytes).toBe(0)

    const first = await trainOn(dataset.path)
    expect(first.terminal).toMatch(/dataset: 96 records encoded in [\d.]+ s; cached in cache\/encoded\/[0-9a-f]{32}/)
    const cached = await request(host, 'datasets.get', { datasetId: dataset.id })
    const entries = fs.readdirSync(encodedCacheFolder(dataDir))
    expect(entries).toHaveLength(1)
    const entry = entries[0] ?? ''
    const folder = path.join(encodedCacheFolder(dataDir), entry)
    expect(cached.encodedBytes).toBeGreaterThan(96 * 8) // ids and labels, 4 bytes a token
    expect(cached.encodedBytes).toBe(fs.readdirSync(folder).reduce((total, name) => total + fs.statSync(path.join(folder, name)).size, 0))

    const second = await trainOn(dataset.path)
    expect(second.terminal).toContain(`dataset: 96 encoded records read from the cache (cache/encoded/${entry})`)
    expect(second.terminal).not.toMatch(/records encoded in/)
    expect(second.losses.map((point) => [point.step, point.loss])).toEqual(first.losses.map((point) => [point.step, point.loss]))

    const cleared = await request(host, 'datasets.delete_encoded', { datasetId: dataset.id })
    expect(cleared.encodedBytes).toBe(0)
    expect(fs.readdirSync(encodedCacheFolder(dataDir))).toEqual([])
  })
})
