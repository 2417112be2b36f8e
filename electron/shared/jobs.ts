/** Jobs as the host stores them and the renderer shows them. */
import { z } from 'zod'
import { jobConfigSchema, methods } from './config'
import { badRowsChoices, columnMappingSchema } from './datasets'

// The config's own ranges, without its defaults: a field left out of the form takes the preset's or the default.
const loraShape = jobConfigSchema.shape.lora.unwrap().shape
const trainingShape = jobConfigSchema.shape.training.unwrap().shape
const datasetShape = jobConfigSchema.shape.dataset.shape

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
  /** Model FLOPs utilisation of the step (see protocol.ts); null off a known GPU. */
  mfu: z.number().nullable(),
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
  datasetFormat: datasetShape.format.unwrap().optional(),
  preset: z.string().optional(),
  method: z.enum(methods).optional(),
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
  /** Micro-batches per optimizer step. */
  gradientAccumulation: trainingShape.gradientAccumulation.unwrap().optional(),
  /** Share of rows held out for eval events (0 to 0.5). */
  validationSplit: datasetShape.validationSplit.unwrap().optional(),
  /** A row that does not fit the format fails the job, or is skipped and counted. */
  badRows: z.enum(badRowsChoices).optional(),
  /** Our field name -> the file's column name, for files with their own column names. */
  columns: columnMappingSchema.optional(),
  packing: trainingShape.packing.unwrap().optional(),
  /** Also learn the prompt's tokens, not only the answers. */
  trainOnInputs: trainingShape.trainOnInputs.unwrap().optional(),
  loraDropout: loraShape.dropout.unwrap().optional(),
  /** "all-linear" or module names such as q_proj. */
  targetModules: loraShape.targetModules.unwrap().optional(),
  rslora: loraShape.rslora.unwrap().optional(),
  dora: loraShape.dora.unwrap().optional(),
  /** DPO only: the pull towards the reference model. */
  dpoBeta: jobConfigSchema.shape.dpo.unwrap().shape.beta.unwrap().optional(),
})

export type NewJobInput = z.infer<typeof newJobInputSchema>

export const queueStateSchema = z.object({
  /** False while the user has stopped the queue; running jobs go on, queued ones wait. */
  running: z.boolean(),
  /** How many jobs train at once; 1 per GPU by default. */
  concurrency: z.int().min(1).max(8),
})

export type QueueState = z.infer<typeof queueStateSchema>

type WithoutDefaults<Shape extends z.ZodRawShape> = {
  [Key in keyof Shape]: z.ZodOptional<Shape[Key] extends z.ZodDefault<infer Inner> ? Inner : Shape[Key]>
}

/**
 * A config section with every field optional and no default filled in
 * (zod's partial() keeps the defaults), so a preset that leaves a field out
 * does not override the self-test's value or the host's own choice.
 */
function withoutDefaults<Shape extends z.ZodRawShape>(section: z.ZodObject<Shape>): z.ZodObject<WithoutDefaults<Shape>> {
  const fields = Object.fromEntries(
    Object.entries(section.shape).map(([key, field]) => {
      const inner = (field instanceof z.ZodDefault ? field.unwrap() : field) as z.ZodType
      return [key, inner.optional()]
    }),
  )
  return z.strictObject(fields) as unknown as z.ZodObject<WithoutDefaults<Shape>>
}

/** A preset from resources/presets: settings plus when to use it. */
export const presetSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  /** Only how the base model is loaded ("4bit" for QLoRA); the form keeps it off without a CUDA GPU. */
  model: withoutDefaults(jobConfigSchema.shape.model.pick({ quantization: true })).optional(),
  lora: withoutDefaults(jobConfigSchema.shape.lora.unwrap()),
  training: withoutDefaults(jobConfigSchema.shape.training.unwrap()),
})

export type Preset = z.infer<typeof presetSchema>
