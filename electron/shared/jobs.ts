/** Jobs as the host stores them and the renderer shows them. */
import { z } from 'zod'
import { jobConfigSchema, jobSettingsSchema, withoutDefaults } from './config'
import { columnMappingSchema } from './datasets'
import { typedName } from './names'

/** What the dataset field takes, for messages. */
export const datasetKinds = '.jsonl, .json, .csv, .parquet, .txt, or a folder saved with save_to_disk'

const modelShape = jobConfigSchema.shape.model
const datasetShape = jobConfigSchema.shape.dataset
const checkedColumns = columnMappingSchema.meta(datasetShape.shape.columns.unwrap().meta() ?? {})
const mixEntryShape = datasetShape.shape.mix.unwrap().element
// A mixed dataset's column mapping is checked at the edge too, as the main dataset's is.
const mixInput = z
  .array(mixEntryShape.extend({ columns: checkedColumns.default({}) }).meta(mixEntryShape.meta() ?? {}))
  .max(16)
  .meta(datasetShape.shape.mix.unwrap().meta() ?? {})

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

/**
 * What jobs.create takes: settings keyed exactly as config.json (every field
 * optional; see jobSettingsSchema), plus what to start from: the model
 * (`model.selftest` or `model.path`, a folder or hub id), the dataset
 * (`dataset.path`; the self-test has its own), a preset, a checkpoint of
 * another job (`initFrom`), and a name. configMerge.ts says which value wins.
 */
export const newJobInputSchema = jobSettingsSchema
  .extend({
    name: typedName().max(120).meta({ label: 'Job name' }).optional(),
    preset: z.string().min(1).meta({ label: 'Preset' }).optional(),
    /** Start from the adapter weights of another job's checkpoint, or of a library adapter (adapters.ts), with a fresh optimizer. */
    /** `optimizer` true continues the checkpoint's optimizer state too (config.json initOptimizer); a library adapter has none. */
    initFrom: z
      .union([
        z.strictObject({
          jobId: z.string().min(1),
          checkpoint: z.string().min(1),
          optimizer: z.boolean().meta({ label: "Continue the checkpoint's optimizer" }).optional(),
        }),
        z.strictObject({ adapterId: z.string().min(1) }),
      ])
      .meta({ label: 'Starting checkpoint' })
      .optional(),
    model: withoutDefaults(modelShape),
    // The column mapping is checked against the fields the trainer reads, here at the edge.
    dataset: withoutDefaults(datasetShape.extend({ columns: checkedColumns, mix: mixInput })).optional(),
  })
  .superRefine((input, context) => {
    if (input.model.selftest === true) return
    if (input.model.path === undefined)
      context.addIssue({ code: 'custom', path: ['model', 'path'], message: 'choose a model folder or hub id, or the self-test model' })
    // The self-test has its own dataset; any other model needs one.
    if (input.dataset?.path === undefined)
      context.addIssue({ code: 'custom', path: ['dataset', 'path'], message: `choose a dataset file (${datasetKinds})` })
  })
  .meta({ label: 'New job' })

/** What jobs.create takes (see newJobInputSchema). */
export type NewJobInput = z.infer<typeof newJobInputSchema>

export const queueStateSchema = z.object({
  /** False while the user has stopped the queue; running jobs go on, queued ones wait. */
  running: z.boolean(),
  /** How many jobs train at once; 1 per GPU by default. */
  concurrency: z.int().min(1).max(8),
})

export type QueueState = z.infer<typeof queueStateSchema>

/** A preset from resources/presets: settings in config.json's shape (quantization the only model setting), plus when to use it. */
export const presetSchema = jobSettingsSchema.extend({
  id: z.string(),
  name: z.string(),
  description: z.string(),
})

export type Preset = z.infer<typeof presetSchema>
