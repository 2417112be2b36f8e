/**
 * The gpu_samples table: every GPU sample taken while a job runs, stored for
 * that job in at most `maxBuckets` rows per GPU. Samples fill the newest bucket
 * until it holds `bucketSize` of them; when the rows reach the bound, neighbours
 * merge pairwise and buckets hold twice as many samples from then on. A week at
 * a sample a second stays under the bound and keeps every peak (downsample.ts).
 */
import { gpuHistoryFields, type GpuBucket, type GpuHistory, type GpuRange } from '@shared/gpuHistory'
import type { GpuSample } from '@shared/system'
import type { Db } from '../store'
import { bucketOf, halve, mergeBuckets } from './downsample'

/** Rows kept per job and GPU; halving happens when a new row would pass it. */
export const defaultMaxBuckets = 2000

interface Row {
  gpu_index: number
  time_start: number
  time_end: number
  samples: number
  name: string
  readings: string
}

type Readings = Record<(typeof gpuHistoryFields)[number], GpuRange>

/** Where one job's GPU is: its newest bucket and how many samples a bucket takes. */
interface Series {
  rows: number
  bucketSize: number
  newest: GpuBucket | null
}

function toBucket(row: Row): GpuBucket {
  const readings = JSON.parse(row.readings) as Readings
  return { timeStart: row.time_start, timeEnd: row.time_end, samples: row.samples, ...readings }
}

function readingsOf(bucket: GpuBucket): string {
  const readings: Partial<Readings> = {}
  for (const field of gpuHistoryFields) readings[field] = bucket[field]
  return JSON.stringify(readings)
}

/** Reads and writes the GPU readings of jobs. */
export class GpuHistoryStore {
  private readonly series = new Map<string, Series>()

  constructor(
    private readonly db: Db,
    private readonly maxBuckets = defaultMaxBuckets,
  ) {
    if (maxBuckets < 2) throw new Error(`maxBuckets must be at least 2, not ${maxBuckets}`)
  }

  /** Stores one sample for each job in `jobIds`; a sample without readings stores nothing. */
  record(jobIds: Iterable<string>, sample: GpuSample): void {
    if (!sample.available || sample.gpus.length === 0) return
    this.db.transaction(() => {
      for (const jobId of jobIds) {
        // A job deleted between the sample and now has no row to attach the readings to.
        if (!this.db.prepare('SELECT 1 FROM jobs WHERE id = ?').get(jobId)) continue
        for (const gpu of sample.gpus) this.add(jobId, gpu.index, gpu.name, bucketOf(sample.time, gpu))
      }
    })()
  }

  /** The job's readings, one series per GPU, oldest bucket first. */
  list(jobId: string): GpuHistory {
    const rows = this.db.prepare('SELECT * FROM gpu_samples WHERE job_id = ? ORDER BY gpu_index, time_start').all(jobId) as Row[]
    const gpus: GpuHistory['gpus'] = []
    for (const row of rows) {
      let gpu = gpus[gpus.length - 1]
      if (!gpu || gpu.index !== row.gpu_index) gpus.push((gpu = { index: row.gpu_index, name: row.name, buckets: [] }))
      gpu.buckets.push(toBucket(row))
    }
    return { gpus }
  }

  private add(jobId: string, gpuIndex: number, name: string, bucket: GpuBucket): void {
    const series = this.load(jobId, gpuIndex)
    const newest = series.newest
    if (newest && newest.samples < series.bucketSize && bucket.timeStart >= newest.timeEnd) {
      series.newest = mergeBuckets(newest, bucket)
      this.db
        .prepare('UPDATE gpu_samples SET time_end = ?, samples = ?, readings = ? WHERE job_id = ? AND gpu_index = ? AND time_start = ?')
        .run(series.newest.timeEnd, series.newest.samples, readingsOf(series.newest), jobId, gpuIndex, newest.timeStart)
      return
    }
    if (series.rows + 1 > this.maxBuckets) {
      this.compact(jobId, gpuIndex, name, series)
      return this.add(jobId, gpuIndex, name, bucket)
    }
    this.insert(jobId, gpuIndex, name, bucket)
    series.rows += 1
    series.newest = bucket
  }

  private insert(jobId: string, gpuIndex: number, name: string, bucket: GpuBucket): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO gpu_samples (job_id, gpu_index, time_start, time_end, samples, name, readings) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(jobId, gpuIndex, bucket.timeStart, bucket.timeEnd, bucket.samples, name, readingsOf(bucket))
  }

  /** Halves the series' rows in place and doubles its bucket size. */
  private compact(jobId: string, gpuIndex: number, name: string, series: Series): void {
    const rows = this.db
      .prepare('SELECT * FROM gpu_samples WHERE job_id = ? AND gpu_index = ? ORDER BY time_start')
      .all(jobId, gpuIndex) as Row[]
    const halved = halve(rows.map(toBucket))
    this.db.prepare('DELETE FROM gpu_samples WHERE job_id = ? AND gpu_index = ?').run(jobId, gpuIndex)
    for (const bucket of halved) this.insert(jobId, gpuIndex, name, bucket)
    series.rows = halved.length
    series.bucketSize *= 2
    series.newest = halved[halved.length - 1] ?? null
  }

  /** The series as stored: after a restart the bucket size is the largest bucket's, rounded up to a power of two. */
  private load(jobId: string, gpuIndex: number): Series {
    const key = `${jobId}\u0000${gpuIndex}`
    let series = this.series.get(key)
    if (!series) {
      const summary = this.db
        .prepare('SELECT COUNT(*) AS rows, MAX(samples) AS largest FROM gpu_samples WHERE job_id = ? AND gpu_index = ?')
        .get(jobId, gpuIndex) as { rows: number; largest: number | null }
      const newestRow = this.db
        .prepare('SELECT * FROM gpu_samples WHERE job_id = ? AND gpu_index = ? ORDER BY time_start DESC LIMIT 1')
        .get(jobId, gpuIndex) as Row | undefined
      const bucketSize = 2 ** Math.ceil(Math.log2(Math.max(1, summary.largest ?? 1)))
      series = { rows: summary.rows, bucketSize, newest: newestRow ? toBucket(newestRow) : null }
      this.series.set(key, series)
    }
    return series
  }

  /** Closes the connection (the host's shutdown). */
  close(): void {
    if (this.db.open) this.db.close()
  }

  /** Forgets a finished job's in-memory position (its rows stay). */
  forget(jobId: string): void {
    for (const key of this.series.keys()) if (key.startsWith(`${jobId}\u0000`)) this.series.delete(key)
  }
}
