/**
 * The job configuration: the single source of truth for one fine-tune.
 * The host writes it as jobs/<id>/config.json; the trainer validates the same
 * shape (python-runtime/tunedeck_trainer/config.py) and rejects unknown keys.
 * Both sides are tested against tests/fixtures/config vectors.
 */
import { z } from 'zod'

export const configVersion = 1

export const datasetFormats = [
  'auto',
  'alpaca',
  'sharegpt',
  'openai',
  'prompt_completion',
  'text',
  'preference',
  /** Unpaired feedback: a prompt, a completion and a boolean label (desirable or not); trains with KTO only. */
  'feedback',
] as const

export type DatasetFormat = (typeof datasetFormats)[number]

export const precisions = ['auto', 'fp32', 'bf16', 'fp16'] as const

const modelSchema = z.strictObject({
  /** A local Hugging Face folder, or a hub id already in the local cache. */
  path: z.string().min(1, 'choose a model folder'),
  /** Build the tiny self-test model at `path` when it is missing. */
  selftest: z.boolean().default(false),
  /** "4bit" loads the base as NF4 through bitsandbytes (QLoRA); needs CUDA. */
  quantization: z.enum(['none', '4bit']).default('none'),
})

const datasetSchema = z.strictObject({
  path: z.string().min(1, 'choose a dataset file'),
  format: z.enum(datasetFormats).default('auto'),
  /** Maps our field names (instruction, output, messages, ...) to the file's own column names. */
  columns: z.record(z.string(), z.string()).default({}),
  /** What a row that does not fit the format does: fail the job, or be skipped and counted. */
  badRows: z.enum(['fail', 'skip']).default('fail'),
  /** Share of rows held out for eval events; 0 turns evaluation off. */
  validationSplit: z.number().min(0).max(0.5).default(0),
})

const loraSchema = z.strictObject({
  rank: z.int().min(1).max(1024).default(16),
  alpha: z.number().positive().default(32),
  dropout: z.number().min(0).max(0.9).default(0.05),
  /** "all-linear" or explicit module names such as q_proj. */
  targetModules: z.union([z.literal('all-linear'), z.array(z.string().min(1)).min(1)]).default('all-linear'),
  rslora: z.boolean().default(false),
  dora: z.boolean().default(false),
})

const trainingSchema = z.strictObject({
  learningRate: z.number().positive().max(1).default(2e-4),
  epochs: z.number().positive().max(100).default(1),
  batchSize: z.int().min(1).max(1024).default(4),
  gradientAccumulation: z.int().min(1).max(1024).default(1),
  maxSeqLength: z.int().min(16).max(131072).default(1024),
  /** Stop after this many optimizer steps even if epochs remain; null runs all epochs. */
  maxSteps: z.int().min(1).nullable().default(null),
  warmupRatio: z.number().min(0).max(0.5).default(0.03),
  weightDecay: z.number().min(0).max(1).default(0),
  seed: z.int().min(0).default(42),
  precision: z.enum(precisions).default('auto'),
  trainOnInputs: z.boolean().default(false),
  /**
   * Several short examples per row, with no padding between them. On by default (fewer wasted
   * tokens); the SFT recipe trains unpacked, with a warning, for models whose attention-mask
   * code cannot keep packed examples apart. DPO never packs.
   */
  packing: z.boolean().default(true),
  /** Save a periodic checkpoint every N optimizer steps; 0 turns them off. */
  checkpointEvery: z.int().min(0).default(0),
  /** How many periodic checkpoints to keep; named ones are kept until deleted. */
  keepCheckpoints: z.int().min(1).default(2),
  /** Log a step event every N optimizer steps. */
  logEvery: z.int().min(1).default(1),
  /** Trade compute for memory; on by default with 4-bit loading. */
  gradientCheckpointing: z.boolean().default(false),
  /** On CUDA out-of-memory, retry with half the micro-batch and twice the accumulation. */
  oomRetry: z.boolean().default(true),
  /**
   * Processes that collate upcoming micro-batches while the GPU computes, so it never waits
   * for data; 0 collates in the trainer itself. null (auto): a share of the cores on CUDA, 0 on
   * CPU where every core computes the model. Does not change the results.
   */
  dataloaderWorkers: z.int().min(0).max(64).nullable().default(null),
})

const dpoSchema = z.strictObject({
  /** Strength of the pull towards the reference model: the initFrom adapter, frozen, or else the base with the adapter disabled. */
  beta: z.number().positive().max(10).default(0.1),
})

const ktoSchema = z.strictObject({
  /** Strength of the pull towards the reference model, as for DPO. */
  beta: z.number().positive().max(10).default(0.1),
  /** Weight of the loss of examples labelled desirable. */
  desirableWeight: z.number().positive().max(100).default(1),
  /** Weight of the loss of examples labelled undesirable. */
  undesirableWeight: z.number().positive().max(100).default(1),
})

/** Training methods: supervised fine-tuning, preference pairs (DPO), unpaired feedback (KTO). */
export const methods = ['sft', 'dpo', 'kto'] as const

export const jobConfigSchema = z.strictObject({
  version: z.literal(configVersion),
  jobId: z.string().min(1),
  method: z.enum(methods).default('sft'),
  model: modelSchema,
  dataset: datasetSchema,
  lora: loraSchema.default(loraSchema.parse({})),
  training: trainingSchema.default(trainingSchema.parse({})),
  dpo: dpoSchema.default(dpoSchema.parse({})),
  kto: ktoSchema.default(ktoSchema.parse({})),
  /** Name of a checkpoint under checkpoints/ to continue exactly from (same job). */
  resumeFrom: z.string().min(1).nullable().default(null),
  /** Path of a checkpoint whose adapter weights start a new job (fresh optimizer). */
  initFrom: z.string().min(1).nullable().default(null),
})

/** The whole config.json of a job, with every default filled in. */
export type JobConfig = z.infer<typeof jobConfigSchema>
export type LoraConfig = JobConfig['lora']
export type TrainingConfig = JobConfig['training']
