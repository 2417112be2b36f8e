/**
 * The job configuration: the single source of truth for one fine-tune. Each
 * field's name, type, range, default and label is written here once. The host
 * writes it as jobs/<id>/config.json; the trainer validates that file against
 * the JSON Schema exported from this one (python-runtime/tunedeck_trainer/
 * job_config.schema.json, written by `npm run config-schema`) and rejects
 * unknown keys. Both sides are tested against tests/fixtures/config vectors.
 */
import { z } from 'zod'
import { withExpectations, type JsonSchemaNode } from './fields'
import { datasetFormats, methods, methodTable, sectionMethods, type MethodTable, type SectionMethod } from './methods'

export const configVersion = 1

/**
 * Where a plain-text (.txt) file's documents end: "auto" is per paragraph when the
 * file has a blank line, else per line (one article per line, as the datasets text loader reads it).
 */
export const textSplits = ['auto', 'line', 'paragraph', 'file'] as const

export type TextSplit = (typeof textSplits)[number]

/**
 * Whether a CSV file's first row names its columns: "auto" guesses (a row of numbers, true/false
 * or sentences is data), "no" reads it as data and names the columns column_1..n.
 */
export const csvHeaders = ['auto', 'yes', 'no'] as const

export type CsvHeader = (typeof csvHeaders)[number]

export const precisions = ['auto', 'fp32', 'bf16', 'fp16'] as const

export const quantizations = ['none', '4bit'] as const

/** A field's label, for messages and the form: written here once, beside its type, range and default. */
const label = (text: string, more: { expected?: string; hashed?: false } = {}) => ({ label: text, ...more })

/**
 * Marks a field that does not change what a run computes: it is left out of the config hash a
 * checkpoint carries (the trainer's JobConfig.hash), so resuming under another value is the same run.
 */
const unhashed = { hashed: false } as const

const modelSchema = z
  .strictObject({
    /** A local Hugging Face folder, or a hub id already in the local cache. */
    path: z.string().min(1, 'choose a model folder').meta(label('Model')),
    /** Build the tiny self-test model at `path` when it is missing. */
    selftest: z.boolean().meta(label('Self-test model')).default(false),
    /** "4bit" loads the base as NF4 through bitsandbytes (QLoRA); needs CUDA. */
    quantization: z.enum(quantizations).meta(label('Quantization')).default('none'),
  })
  .meta(label('Model settings'))

/**
 * A dataset's weight in a mix: the share of its rows the job takes, drawn with training.seed.
 * 1 takes every row ("all of each"), 0.25 a quarter of them, 2 every row twice.
 */
const mixWeight = z
  .number()
  .positive()
  .max(100)
  .meta(label('Mix weight', { expected: 'a number above 0 and at most 100: 1 takes every row, 0.5 half of them, 2 each row twice' }))
  .default(1)

/**
 * Another dataset trained on beside dataset.path, read its own way (format, columns, text split:
 * the library's reading of it, by default); the trainer interleaves the records of all of them in an
 * order fixed by training.seed (python-runtime/tunedeck_trainer/data/mixing.py).
 */
const mixEntrySchema = z
  .strictObject({
    path: z.string().min(1, 'choose a dataset file').meta(label('Mixed dataset')),
    format: z.enum(datasetFormats).meta(label('Dataset format')).default('auto'),
    columns: z.record(z.string(), z.string()).meta(label('Column mapping')).default({}),
    textSplit: z.enum(textSplits).meta(label('Text split')).default('auto'),
    csvHeader: z.enum(csvHeaders).meta(label('CSV header row')).default('auto'),
    weight: mixWeight,
    datasetId: z.string().optional().meta(label('Library dataset')),
    sha256: z.string().optional().meta(label('Dataset SHA-256')),
  })
  .meta(label('Mixed dataset'))

/** A mixed dataset as config.json holds it. */
export type MixEntry = z.infer<typeof mixEntrySchema>

const datasetSchema = z
  .strictObject({
    path: z.string().min(1, 'choose a dataset file').meta(label('Dataset')),
    format: z.enum(datasetFormats).meta(label('Dataset format')).default('auto'),
    /** Maps our field names (instruction, output, messages, ...) to the file's own column names. */
    columns: z.record(z.string(), z.string()).meta(label('Column mapping')).default({}),
    /** Plain text only: one document per line, per paragraph, or the whole file; each ends with the end-of-text token. */
    textSplit: z.enum(textSplits).meta(label('Text split')).default('auto'),
    /** CSV only: whether the first row names the columns or is already data (columns column_1..n). */
    csvHeader: z.enum(csvHeaders).meta(label('CSV header row')).default('auto'),
    /** What a row that does not fit the format does: fail the job, or be skipped and counted. */
    badRows: z.enum(['fail', 'skip']).meta(label('Bad rows')).default('fail'),
    /** Share of rows held out for eval events; 0 turns evaluation off. */
    validationSplit: z.number().min(0).max(0.5).meta(label('Validation split')).default(0),
    /** Set by the host when the file is a library dataset: its id and SHA-256, so the job names exactly what it trained on. */
    datasetId: z.string().optional().meta(label('Library dataset')),
    sha256: z.string().optional().meta(label('Dataset SHA-256')),
    /** With a mix: the share of this dataset's rows the job takes (see mixWeight). */
    weight: mixWeight,
    /** More datasets mixed with this one, each read in its own format; empty trains on dataset.path alone. */
    mix: z.array(mixEntrySchema).max(16).meta(label('Mixed datasets')).default([]),
  })
  .meta(label('Dataset settings'))

const loraSchema = z
  .strictObject({
    rank: z.int().min(1).max(1024).meta(label('LoRA rank')).default(16),
    alpha: z.number().positive().max(4096).meta(label('LoRA alpha')).default(32),
    dropout: z.number().min(0).max(0.9).meta(label('LoRA dropout')).default(0.05),
    /** "all-linear" or explicit module names such as q_proj. */
    targetModules: z
      .union([z.literal('all-linear'), z.array(z.string().min(1)).min(1)])
      .meta(label('LoRA target modules', { expected: '"all-linear" or a list of module names such as "q_proj"' }))
      .default('all-linear'),
    rslora: z.boolean().meta(label('rsLoRA')).default(false),
    dora: z.boolean().meta(label('DoRA')).default(false),
  })
  .meta(label('LoRA settings'))

const trainingSchema = z
  .strictObject({
    learningRate: z.number().positive().max(1).meta(label('Learning rate')).default(2e-4),
    epochs: z.number().positive().max(100).meta(label('Epochs')).default(1),
    batchSize: z.int().min(1).max(1024).meta(label('Batch size')).default(4),
    gradientAccumulation: z.int().min(1).max(1024).meta(label('Gradient accumulation')).default(1),
    maxSeqLength: z.int().min(16).max(131072).meta(label('Max sequence length')).default(1024),
    /** Stop after this many optimizer steps even if epochs remain; null runs all epochs. */
    maxSteps: z.int().min(1).nullable().meta(label('Max steps')).default(null),
    warmupRatio: z.number().min(0).max(0.5).meta(label('Warmup ratio')).default(0.03),
    weightDecay: z.number().min(0).max(1).meta(label('Weight decay')).default(0),
    seed: z.int().min(0).meta(label('Seed')).default(42),
    precision: z.enum(precisions).meta(label('Precision')).default('auto'),
    trainOnInputs: z.boolean().meta(label('Train on inputs')).default(false),
    /**
     * Several short examples per row, with no padding between them. On by default (fewer wasted
     * tokens); the SFT recipe trains unpacked, with a warning, for models whose attention-mask
     * code cannot keep packed examples apart. DPO never packs.
     */
    packing: z.boolean().meta(label('Packing')).default(true),
    /** Save a periodic checkpoint every N optimizer steps; 0 turns them off. */
    checkpointEvery: z.int().min(0).max(1_000_000).meta(label('Checkpoint every N steps')).default(0),
    /** How many periodic checkpoints to keep; named ones are kept until deleted. */
    keepCheckpoints: z.int().min(1).max(100).meta(label('Periodic checkpoints kept')).default(2),
    /** Log a step event every N optimizer steps. */
    logEvery: z.int().min(1).meta(label('Log every N steps')).default(1),
    /** Trade compute for memory; on by default with 4-bit loading (see configMerge.ts). */
    gradientCheckpointing: z.boolean().meta(label('Gradient checkpointing')).default(false),
    /** On CUDA out-of-memory, retry with half the micro-batch and twice the accumulation. */
    oomRetry: z.boolean().meta(label('Retry on out-of-memory')).default(true),
    /**
     * Processes that collate upcoming micro-batches while the GPU computes, so it never waits
     * for data; 0 collates in the trainer itself. null (auto): a share of the cores on CUDA, 0 on
     * CPU where every core computes the model. Does not change the results.
     */
    dataloaderWorkers: z.int().min(0).max(64).nullable().meta(label('Data loader workers', unhashed)).default(null),
    /**
     * The devices one job trains on, one rank each (torchrun, data parallel): "all" (every GPU
     * of the machine; one process on CPU), a count (the first N GPUs; N gloo ranks on CPU), or a
     * list of CUDA device indices. The global batch is batchSize x ranks x gradientAccumulation.
     * Unhashed: a checkpoint records its rank count, and a resume on another count says what changes.
     */
    gpus: z
      .union([z.literal('all'), z.int().min(1).max(64), z.array(z.int().min(0).max(63)).min(1).max(64)])
      .meta(label('GPUs', { ...unhashed, expected: '"all", a number of GPUs, or a list of GPU indices such as [0, 1]' }))
      .default('all'),
    /**
     * How several ranks hold the model: "ddp" (each GPU the whole model, the gradients summed),
     * "fsdp" (FSDP2: the base weights split across the GPUs, each layer gathered while it runs;
     * SFT only) or "auto" (FSDP when the memory estimate does not fit one GPU but fits split
     * across the ranks). Unhashed: both train the same steps, and a checkpoint resumes under either.
     */
    sharding: z
      .enum(['auto', 'ddp', 'fsdp'])
      .meta(label('Multi-GPU sharding', { ...unhashed, expected: '"auto", "ddp" or "fsdp"' }))
      .default('auto'),
  })
  .meta(label('Training settings'))

/** A method's settings section, as methods.ts declares it. */
type SettingsOf<Name extends SectionMethod> = Extract<MethodTable[Name]['settings'], z.ZodObject>

/** Each method's settings section (methods.ts), with its defaults filled in when left out. */
const methodSections = Object.fromEntries(
  sectionMethods.map((name) => {
    const section: z.ZodObject = methodTable[name].settings
    return [name, section.default(section.parse({}))]
  }),
) as { [Name in SectionMethod]: z.ZodDefault<SettingsOf<Name>> }

const methodSchema = z.enum(methods).meta(label('Method'))

export const jobConfigSchema = z
  .strictObject({
    version: z.literal(configVersion).meta(label('Config version')),
    jobId: z.string().min(1).meta(label('Job id', unhashed)),
    method: methodSchema.default('sft'),
    model: modelSchema,
    dataset: datasetSchema,
    lora: loraSchema.default(loraSchema.parse({})),
    training: trainingSchema.default(trainingSchema.parse({})),
    ...methodSections,
    /** Name of a checkpoint under checkpoints/ to continue exactly from (same job). */
    resumeFrom: z.string().min(1).nullable().meta(label('Resume checkpoint', unhashed)).default(null),
    /** Path of a checkpoint whose adapter weights start a new job. */
    initFrom: z.string().min(1).nullable().meta(label('Starting checkpoint', unhashed)).default(null),
    /**
     * With initFrom: continue that checkpoint's optimizer state too (AdamW's moments and step
     * counts), so training on new data goes on without resetting them; the learning rate,
     * schedule and weight decay are this job's own. False starts a fresh optimizer.
     */
    initOptimizer: z.boolean().meta(label("Continue the checkpoint's optimizer", unhashed)).default(false),
  })
  .meta(label('Job config'))

type WithoutDefaults<Shape extends z.ZodRawShape> = {
  [Key in keyof Shape]: z.ZodOptional<Shape[Key] extends z.ZodDefault<infer Inner> ? Inner : Shape[Key]>
}

/**
 * A config section with every field optional and no default filled in
 * (zod's partial() keeps the defaults), so a layer that leaves a field out
 * does not override a lower layer's value (see configMerge.ts).
 */
export function withoutDefaults<Shape extends z.ZodRawShape>(section: z.ZodObject<Shape>): z.ZodObject<WithoutDefaults<Shape>> {
  const fields = Object.fromEntries(
    Object.entries(section.shape).map(([key, field]) => {
      const inner = (field instanceof z.ZodDefault ? field.unwrap() : field) as z.ZodType
      return [key, inner.optional()]
    }),
  )
  return z.strictObject(fields).meta(section.meta() ?? {}) as unknown as z.ZodObject<WithoutDefaults<Shape>>
}

/** Each method's settings section as a layer of settings: every field optional, no default filled in. */
const methodSettings = Object.fromEntries(sectionMethods.map((name) => [name, withoutDefaults(methodTable[name].settings).optional()])) as {
  [Name in SectionMethod]: z.ZodOptional<z.ZodObject<WithoutDefaults<SettingsOf<Name>['shape']> & z.ZodRawShape>>
}

/**
 * Settings that override the defaults, keyed exactly as in config.json: what a
 * preset, the self-test's job.json and the user give. Every field is optional;
 * the model and dataset themselves are chosen apart (see jobs.ts, newJobInputSchema).
 */
export const jobSettingsSchema = z
  .strictObject({
    method: methodSchema.optional(),
    model: withoutDefaults(modelSchema.pick({ quantization: true })).optional(),
    // A preset names no files: the datasets of a mix are chosen with the job (jobs.ts).
    dataset: withoutDefaults(datasetSchema.omit({ path: true, mix: true })).optional(),
    lora: withoutDefaults(loraSchema).optional(),
    training: withoutDefaults(trainingSchema).optional(),
    ...methodSettings,
  })
  .meta(label('Job settings'))

/** Overrides of the defaults in config.json's own shape, every field optional. */
export type JobSettings = z.infer<typeof jobSettingsSchema>

/** The sections of config.json that settings override, each a flat object. */
export const settingSections = ['model', 'dataset', 'lora', 'training', ...sectionMethods] as const

export type SettingSection = (typeof settingSections)[number]

/** The whole config.json of a job, with every default filled in. */
export type JobConfig = z.infer<typeof jobConfigSchema>
export type LoraConfig = JobConfig['lora']
export type TrainingConfig = JobConfig['training']

/**
 * config.json's JSON Schema, for the trainer: every field's type, range and
 * default, its label, and what it expects in words (`expected`).
 * scripts/config-schema.mjs writes it to python-runtime/tunedeck_trainer/job_config.schema.json.
 */
export function jobConfigJsonSchema(): JsonSchemaNode {
  const schema = z.toJSONSchema(jobConfigSchema, { io: 'input' }) as JsonSchemaNode
  return { $comment: 'Generated from electron/shared by `npm run config-schema`; do not edit.', ...withExpectations(schema) }
}
