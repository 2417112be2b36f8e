/**
 * What the trainer said about a job beyond its loss curve, for the job page:
 * how it read the dataset, the memory estimate, out-of-memory retries,
 * warnings and held-out losses (the MFU comes with each step's metrics). Built
 * by the host from the job's events (dataset, memory, oom, log, eval).
 */
import { z } from 'zod'

export const datasetSummarySchema = z.object({
  format: z.string(),
  /** Training examples (before packing). */
  examples: z.int(),
  skipped: z.int(),
  truncated: z.int(),
  validationExamples: z.int(),
  /** Rows the examples were packed into; null when training unpacked. */
  packedRows: z.int().nullable(),
})

export const memorySummarySchema = z.object({
  estimatedMb: z.number(),
  freeMb: z.number().nullable(),
  /** null where there is no GPU to compare with. */
  fits: z.boolean().nullable(),
  detail: z.record(z.string(), z.number()),
  /** With several ranks: their count, the layout (DDP or FSDP) and the fit check in words. */
  ranks: z.int().optional(),
  sharding: z.string().optional(),
  placement: z.string().nullable().optional(),
})

export const oomSummarySchema = z.object({
  step: z.int(),
  batchSize: z.int(),
  maxSeqLength: z.int(),
  retry: z.boolean(),
  newBatchSize: z.int().nullable(),
  newGradientAccumulation: z.int().nullable(),
  time: z.number(),
})

export const noticeSchema = z.object({
  level: z.enum(['info', 'warning', 'error']),
  message: z.string(),
  time: z.number(),
})

export const jobReportSchema = z.object({
  jobId: z.string(),
  dataset: datasetSummarySchema.nullable(),
  memory: memorySummarySchema.nullable(),
  ooms: z.array(oomSummarySchema),
  /** The trainer's info, warning and error log lines, oldest first (the newest 50). */
  notices: z.array(noticeSchema),
  /** Held-out loss by step, in step order. */
  evals: z.array(z.object({ step: z.int(), loss: z.number() })),
})

export type JobReport = z.infer<typeof jobReportSchema>

/** How many notices a report keeps. */
export const noticeLimit = 50
