/** A job's stored GPU readings: buckets of samples, each keeping the minimum, maximum and mean of every reading. */
import { z } from 'zod'

/** The readings a GPU sample stores per job, as named in GpuReading. */
export const gpuHistoryFields = ['utilization', 'memoryUsedMb', 'temperatureC', 'powerW', 'clockSmMhz', 'clockMemoryMhz'] as const

export type GpuHistoryField = (typeof gpuHistoryFields)[number]

/** One reading over a bucket; null where the driver reported it in no sample of the bucket. */
export const gpuRangeSchema = z.object({ min: z.number(), max: z.number(), mean: z.number() }).nullable()

export type GpuRange = z.infer<typeof gpuRangeSchema>

/** Samples from timeStart to timeEnd (ms since the epoch) merged into one row. */
export const gpuBucketSchema = z.object({
  timeStart: z.number(),
  timeEnd: z.number(),
  samples: z.int().min(1),
  utilization: gpuRangeSchema,
  memoryUsedMb: gpuRangeSchema,
  temperatureC: gpuRangeSchema,
  powerW: gpuRangeSchema,
  clockSmMhz: gpuRangeSchema,
  clockMemoryMhz: gpuRangeSchema,
})

export type GpuBucket = z.infer<typeof gpuBucketSchema>

export const gpuHistorySchema = z.object({
  gpus: z.array(z.object({ index: z.int(), name: z.string(), buckets: z.array(gpuBucketSchema) })),
})

/** What jobs.gpu_history returns: one series of buckets per GPU, oldest first. */
export type GpuHistory = z.infer<typeof gpuHistorySchema>
