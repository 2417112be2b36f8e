/**
 * GPU readings stored with a job: recorded nvidia-smi outputs go through the
 * real parser (GpuTelemetry with its nvidia-smi run replaced by the recording)
 * into the real gpu_samples table. A long job stays within the row bound, and
 * every stored bucket keeps the true minimum and maximum of the samples it
 * covers, so a one-second spike survives a week of downsampling.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { gpuHistorySchema, type GpuBucket } from '@shared/gpuHistory'
import { GpuHistoryStore } from '../../electron/host/gpu/history'
import { GpuTelemetry } from '../../electron/host/gpu/telemetry'
import { openDatabase, type Db } from '../../electron/host/store/database'
import { Harness } from './jobs.harness'

/** What `nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw,clocks.sm,clocks.mem` prints. */
function recorded(utilization: number, temperature: number): string {
  return [
    `0, NVIDIA GeForce RTX 4090, ${utilization}, 20311, 24564, ${temperature}, 412.30, 2730, 10501`,
    // A second card whose driver reports no power or memory clock.
    `1, NVIDIA RTX A6000, Ada, 3, 512, 49140, 35, [N/A], 210, [Not Supported]`,
  ].join('\n')
}

let dataDir: string
let db: Db

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunedeck-gpu-history-'))
  db = openDatabase(dataDir)
  db.prepare("INSERT INTO jobs (id, name, status, config, created_at) VALUES ('job-1', 'long run', 'running', '{}', 0)").run()
})

afterEach(() => {
  db.close()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

/** Samples `count` seconds of a job through the telemetry, `utilizationAt(i)` per second; returns the raw readings by time. */
async function sampleJob(store: GpuHistoryStore, count: number, utilizationAt: (second: number) => number, startSecond = 0) {
  const raw = new Map<number, { utilization: number; temperature: number }>()
  let second = startSecond
  const telemetry = new GpuTelemetry(async () => ({ ok: true, stdout: recorded(utilizationAt(second), 40 + (second % 37)) }))
  for (; second < startSecond + count; second += 1) {
    const sample = await telemetry.sample()
    const time = 1_700_000_000_000 + second * 1000
    raw.set(time, { utilization: utilizationAt(second), temperature: 40 + (second % 37) })
    store.record(['job-1'], { ...sample, time })
  }
  return raw
}

function rawWithin(raw: Map<number, { utilization: number; temperature: number }>, bucket: GpuBucket) {
  return [...raw].filter(([time]) => time >= bucket.timeStart && time <= bucket.timeEnd).map(([, reading]) => reading)
}

// A busy GPU that idles every few minutes, with one spike to 100% at second 3,333.
const utilizationAt = (second: number) => (second === 3333 ? 100 : second % 300 < 20 ? 5 : 60 + (second % 7))

describe('GPU history', () => {
  it('keeps a long job within the row bound, with the true min and max of every bucket', async () => {
    const store = new GpuHistoryStore(db, 64)
    const raw = await sampleJob(store, 5000, utilizationAt)
    const history = gpuHistorySchema.parse(store.list('job-1'))
    expect(history.gpus.map((gpu) => [gpu.index, gpu.name])).toEqual([
      [0, 'NVIDIA GeForce RTX 4090'],
      [1, 'NVIDIA RTX A6000, Ada'],
    ])
    const [first, second] = history.gpus
    expect(first!.buckets.length).toBeLessThanOrEqual(64)
    expect(first!.buckets.length).toBeGreaterThan(16)
    expect(first!.buckets.reduce((sum, bucket) => sum + bucket.samples, 0)).toBe(5000)
    for (const bucket of first!.buckets) {
      const within = rawWithin(raw, bucket)
      expect(within.length).toBe(bucket.samples)
      expect(bucket.utilization!.max).toBe(Math.max(...within.map((reading) => reading.utilization)))
      expect(bucket.utilization!.min).toBe(Math.min(...within.map((reading) => reading.utilization)))
      expect(bucket.temperatureC!.max).toBe(Math.max(...within.map((reading) => reading.temperature)))
      expect(bucket.clockSmMhz).toEqual({ min: 2730, max: 2730, mean: 2730 })
    }
    // The spike and the idle dips are still there after many halvings.
    expect(Math.max(...first!.buckets.map((bucket) => bucket.utilization!.max))).toBe(100)
    expect(Math.min(...first!.buckets.map((bucket) => bucket.utilization!.min))).toBe(5)
    // What the driver did not report stays unknown rather than zero.
    expect(second!.buckets.every((bucket) => bucket.powerW === null && bucket.clockMemoryMhz === null)).toBe(true)
    expect(second!.buckets[0]!.clockSmMhz).toEqual({ min: 210, max: 210, mean: 210 })
  })

  it('continues a stored series after a restart without passing the bound', async () => {
    await sampleJob(new GpuHistoryStore(db, 32), 1000, utilizationAt)
    const reopened = new GpuHistoryStore(db, 32)
    await sampleJob(reopened, 3000, utilizationAt, 1000)
    const [first] = reopened.list('job-1').gpus
    expect(first!.buckets.length).toBeLessThanOrEqual(32)
    expect(first!.buckets.reduce((sum, bucket) => sum + bucket.samples, 0)).toBe(4000)
    expect(Math.max(...first!.buckets.map((bucket) => bucket.utilization!.max))).toBe(100)
  })

  it('stores nothing on a machine without an NVIDIA GPU, and the route says the history is empty', async () => {
    const store = new GpuHistoryStore(db)
    const telemetry = new GpuTelemetry(async () => ({
      ok: false,
      missing: false,
      message: 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.',
    }))
    store.record(['job-1'], await telemetry.sample())
    expect(store.list('job-1')).toEqual({ gpus: [] })
  })

  it('serves a finished job its readings through jobs.gpu_history, and deleting the job removes them', async () => {
    await sampleJob(new GpuHistoryStore(db, 16), 100, utilizationAt)
    db.prepare("UPDATE jobs SET status = 'completed', finished_at = 1 WHERE id = 'job-1'").run()
    const harness = new Harness(dataDir)
    try {
      const history = await harness.request('jobs.gpu_history', { jobId: 'job-1' })
      expect(history.gpus[0]!.buckets.reduce((sum, bucket) => sum + bucket.samples, 0)).toBe(100)
      await expect(harness.request('jobs.gpu_history', { jobId: 'no-such-job' })).rejects.toMatchObject({ code: 'not_found' })
      db.prepare("DELETE FROM jobs WHERE id = 'job-1'").run()
      expect((db.prepare('SELECT COUNT(*) AS rows FROM gpu_samples').get() as { rows: number }).rows).toBe(0)
    } finally {
      await harness.service.shutdown()
    }
  })
})
