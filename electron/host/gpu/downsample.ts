/**
 * Bucketed GPU readings: a sample becomes a bucket of one, and two neighbouring
 * buckets merge into one that keeps the minimum and maximum of both, so halving
 * the resolution of a long job never hides a peak or a dip.
 */
import { gpuHistoryFields, type GpuBucket, type GpuRange } from '@shared/gpuHistory'
import type { GpuReading } from '@shared/system'

function single(value: number | null | undefined): GpuRange {
  return value === null || value === undefined ? null : { min: value, max: value, mean: value }
}

/** One GPU's reading at `time` as a bucket of one sample. */
export function bucketOf(time: number, reading: GpuReading): GpuBucket {
  return {
    timeStart: time,
    timeEnd: time,
    samples: 1,
    utilization: single(reading.utilization),
    memoryUsedMb: single(reading.memoryUsedMb),
    temperatureC: single(reading.temperatureC),
    powerW: single(reading.powerW),
    clockSmMhz: single(reading.clockSmMhz),
    clockMemoryMhz: single(reading.clockMemoryMhz),
  }
}

function mergeRange(a: GpuRange, aSamples: number, b: GpuRange, bSamples: number): GpuRange {
  if (!a) return b
  if (!b) return a
  return { min: Math.min(a.min, b.min), max: Math.max(a.max, b.max), mean: (a.mean * aSamples + b.mean * bSamples) / (aSamples + bSamples) }
}

/** The bucket covering both `a` and `b` (a before b). */
export function mergeBuckets(a: GpuBucket, b: GpuBucket): GpuBucket {
  const merged: GpuBucket = {
    ...a,
    timeStart: Math.min(a.timeStart, b.timeStart),
    timeEnd: Math.max(a.timeEnd, b.timeEnd),
    samples: a.samples + b.samples,
  }
  for (const field of gpuHistoryFields) merged[field] = mergeRange(a[field], a.samples, b[field], b.samples)
  return merged
}

/** Merges neighbours pairwise, oldest first: half as many buckets, each twice as long. */
export function halve(buckets: readonly GpuBucket[]): GpuBucket[] {
  const halved: GpuBucket[] = []
  for (let index = 0; index < buckets.length; index += 2) {
    const first = buckets[index] as GpuBucket
    const second = buckets[index + 1]
    halved.push(second ? mergeBuckets(first, second) : first)
  }
  return halved
}
