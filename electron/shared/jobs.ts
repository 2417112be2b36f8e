/** Jobs as the host stores them and the renderer shows them. */
import { z } from 'zod'
import { jobConfigSchema } from './config'

export const jobStatuses = [
  'queued',
  'starting',
  'running',
  'pausing',
  'paused',
  'completed',
  'failed',
  'cancelled',
  'interrupted',
] as const

export type JobStatus = (typeof jobStatuses)[number]

/** States in which a trainer process may be alive. */
export const liveStatuses: readonly JobStatus[] = ['starting', 'running', 'pausing']

/** States from which "resume" continues the same job from a checkpoint. */
export const resumableStatuses: readonly JobStatus[] = ['paused', 'interrupted', 'failed']

export const jobErrorSchema = z.object({
  message: z.string(),
  traceback: z.string().nullable(),
  field: z.string().nullable(),
})

export const jobSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(jobStatuses),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  config: jobConfigSchema,
  step: z.int(),
  totalSteps: z.int(),
  loss: z.number().nullable(),
  tokensPerSecond: z.number().nullable(),
  error: jobErrorSchema.nullable(),
  adapterPath: z.string().nullable(),
  /** 1-based place in the queue while queued, else null. */
  queuePosition: z.int().nullable(),
})

export type Job = z.infer<typeof jobSchema>

export const metricPointSchema = z.object({
  step: z.int(),
  loss: z.number(),
  lr: z.number(),
  gradNorm: z.number().nullable(),
  tokens: z.int(),
  epoch: z.number(),
  tokensPerSecond: z.number(),
  time: z.number(),
})

export type MetricPoint = z.infer<typeof metricPointSchema>

export const checkpointSchema = z.object({
  name: z.string(),
  kind: z.enum(['periodic', 'named', 'pause']),
  step: z.int(),
  loss: z.number().nullable(),
  time: z.number(),
  bytes: z.int(),
})

export type Checkpoint = z.infer<typeof checkpointSchema>

/** What the new-job form sends; the host turns it into a full JobConfig. */
export const newJobInputSchema = z.object({
  name: z.string().max(120).optional(),
  model: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('selftest') }),
    z.object({ kind: z.literal('path'), path: z.string().min(1, 'choose a model folder or hub id') }),
  ]),
  /** Empty for the self-test job, which uses its bundled dataset. */
  datasetPath: z.string().optional(),
  datasetFormat: jobConfigSchema.shape.dataset.shape.format.optional(),
  preset: z.string().optional(),
  method: z.enum(['sft', 'dpo']).optional(),
  quantization: z.enum(['none', '4bit']).optional(),
  /** Start from the adapter weights of another job's checkpoint, with a fresh optimizer. */
  initFrom: z.object({ jobId: z.string().min(1), checkpoint: z.string().min(1) }).optional(),
  lora: z.object({ rank: z.int().min(1).max(1024), alpha: z.number().positive() }).optional(),
  learningRate: z.number().positive().max(1).optional(),
  epochs: z.number().positive().max(100).optional(),
  batchSize: z.int().min(1).max(1024).optional(),
  maxSeqLength: z.int().min(16).max(131072).optional(),
  /** Save a periodic checkpoint every N steps (0: only on pause and on request). */
  checkpointEvery: z.int().min(0).max(1_000_000).optional(),
  /** How many periodic checkpoints to keep; named ones stay until deleted. */
  keepCheckpoints: z.int().min(1).max(100).optional(),
})

export type NewJobInput = z.infer<typeof newJobInputSchema>

export const queueStateSchema = z.object({
  /** False while the user has stopped the queue; running jobs go on, queued ones wait. */
  running: z.boolean(),
  /** How many jobs train at once; 1 per GPU by default. */
  concurrency: z.int().min(1).max(8),
})

export type QueueState = z.infer<typeof queueStateSchema>

/** A preset from resources/presets: settings plus when to use it. */
export const presetSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  lora: jobConfigSchema.shape.lora.unwrap().partial(),
  training: jobConfigSchema.shape.training.unwrap().partial(),
})

export type Preset = z.infer<typeof presetSchema>
