/**
 * The model library: models on this machine (the Hugging Face cache and folders the user adds),
 * whether each trains on this GPU, downloads from the Hub with progress, and the Hub token.
 */
import { z } from 'zod'
import { datasetPreviewSchema } from './datasets'

/** One model folder, read from its files (no weights loaded). */
export const modelSummarySchema = z.object({
  /** The folder; what the new-job form puts in model.path for a folder model. */
  path: z.string(),
  /** owner/name for a model in the hub cache; what the form puts in model.path for it. */
  hubId: z.string().nullable(),
  source: z.enum(['hub-cache', 'folder']),
  name: z.string(),
  /** config.json's first architecture, e.g. LlamaForCausalLM. */
  architecture: z.string().nullable(),
  modelType: z.string().nullable(),
  /** From the safetensors headers; null without safetensors weights. */
  parameters: z.int().min(0).nullable(),
  /** The weights' main dtype (bf16, f16, f32...). */
  dtype: z.string().nullable(),
  /** Bytes on disk, each cached blob once. */
  bytes: z.number().min(0),
  chatTemplate: z.boolean(),
  /** Whether the loss runs the head at the label positions only (the fast path). */
  labelOnlyLoss: z.boolean(),
  /** What keeps it from training, e.g. "no .safetensors weights". */
  problems: z.array(z.string()),
})

export type ModelSummary = z.infer<typeof modelSummarySchema>

/** fits: at most 90% of free GPU memory; tight: under 100%; no: more than free. */
export const fitVerdicts = ['fits', 'tight', 'no'] as const

export const methodFitSchema = z.object({
  /** The trainer's estimate at the default settings (batch 4, 1024 tokens, rank 16, all linear layers). */
  estimatedMb: z.number(),
  /** Null without a GPU to compare with. */
  verdict: z.enum(fitVerdicts).nullable(),
  /** The mildest change of settings that fits, e.g. "training.batchSize 1 (gradientAccumulation 4)". */
  suggestion: z.string().nullable(),
  /** When no setting fits one GPU: the fewest such GPUs FSDP fits it on (training.sharding), else null. */
  fsdpGpus: z.int().min(1).nullable().optional(),
})

export const modelFitSchema = z.object({
  freeMb: z.number().nullable(),
  lora: methodFitSchema,
  qlora: methodFitSchema,
})

export type ModelFit = z.infer<typeof modelFitSchema>

export const modelDetailSchema = modelSummarySchema.extend({
  /** Whether packed rows keep examples apart for this architecture; null when transformers does not know it. */
  packing: z.boolean().nullable(),
  fit: modelFitSchema.nullable(),
})

export type ModelDetail = z.infer<typeof modelDetailSchema>

/** Each listed model's fit at a preset's settings (the defaults without one). */
export const modelFitsSchema = z.array(
  z.object({
    path: z.string(),
    /** Null when transformers cannot build the architecture. */
    fit: modelFitSchema.nullable(),
    /** Whether packed rows keep examples apart; null when transformers does not know the architecture. */
    packing: z.boolean().nullable(),
  }),
)

export type ModelFits = z.infer<typeof modelFitsSchema>

export const modelLibrarySchema = z.object({
  models: z.array(modelSummarySchema),
  /** Folders the user added. */
  folders: z.array(z.string()),
  /** The Hugging Face cache that was read (HF_HUB_CACHE, or HF_HOME/hub). */
  cacheDir: z.string(),
  /** Hub ids offered for download; the user can edit the list. */
  popular: z.array(z.string()),
})

export type ModelLibrary = z.infer<typeof modelLibrarySchema>

/** owner/name, as in the address of the model's page on the Hub. */
export const hubIdSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/, 'a hub id is owner/name, e.g. Qwen/Qwen2.5-0.5B-Instruct')

export const downloadStates = ['starting', 'downloading', 'done', 'failed', 'cancelled'] as const

export const downloadProgressSchema = z.object({
  /** A model goes to the hub cache; a dataset to <dataDir>/downloads/. */
  kind: z.enum(['model', 'dataset']),
  /** The hub id; for a dataset "owner/name config/split", or the URL. */
  hubId: z.string(),
  state: z.enum(downloadStates),
  doneBytes: z.number().min(0),
  totalBytes: z.number().min(0),
  bytesPerSecond: z.number().min(0),
  secondsLeft: z.number().nullable(),
  /** The snapshot folder once done. */
  path: z.string().nullable(),
  /** Why it failed; url is the page to open (a gated model's licence). */
  error: z.object({ code: z.string(), message: z.string(), url: z.string().nullable() }).nullable(),
})

export type DownloadProgress = z.infer<typeof downloadProgressSchema>

export const tokenStatusSchema = z.object({
  /** Whether a Hugging Face token is stored. */
  stored: z.boolean(),
  /** Where: encrypted by the operating system, or a file only this user can read. */
  storage: z.enum(['os-encrypted', 'private-file']),
})

export type TokenStatus = z.infer<typeof tokenStatusSchema>

/** Small instruct models offered until the user edits the list. */
export const defaultPopularModels = [
  'Qwen/Qwen2.5-0.5B-Instruct',
  'Qwen/Qwen2.5-1.5B-Instruct',
  'Qwen/Qwen3-0.6B',
  'HuggingFaceTB/SmolLM2-360M-Instruct',
  'HuggingFaceTB/SmolLM2-1.7B-Instruct',
  'meta-llama/Llama-3.2-1B-Instruct',
  'microsoft/Phi-3.5-mini-instruct',
]

/** A Hub dataset's split (from the Parquet conversion the Hub keeps), or a data file on the web. */
export const datasetDownloadInputSchema = z.union([
  z.object({
    hubId: hubIdSchema,
    config: z.string().trim().min(1).max(200).default('default'),
    split: z.string().trim().min(1).max(200).default('train'),
  }),
  z.object({
    url: z
      .string()
      .trim()
      .regex(/^(https:\/\/|http:\/\/(127\.0\.0\.1|localhost)[:/])/, 'use an https:// address')
      .regex(/\.(jsonl?|csv|parquet)([?#].*)?$/i, 'link a .json, .jsonl, .csv or .parquet file'),
  }),
])

export type DatasetDownloadInput = z.input<typeof datasetDownloadInputSchema>

/** The download's end and, when it is done, the file read as a dropped file would be. */
export const datasetDownloadSchema = downloadProgressSchema.extend({ preview: datasetPreviewSchema.nullable() })

export type DatasetDownload = z.infer<typeof datasetDownloadSchema>
