/**
 * Export of a finished job as one zip that PEFT, vLLM, llama.cpp and Ollama load unchanged:
 * the compatibility report shown before, the request, its progress events and its result.
 */
import { z } from 'zod'

/** The loaders the report speaks for. */
export const exportTargets = ['peft', 'vllm', 'llamacpp', 'ollama'] as const

export type ExportTarget = (typeof exportTargets)[number]

/** Names shown to a person. */
export const exportTargetLabels: Record<ExportTarget, string> = {
  peft: 'PEFT (transformers)',
  vllm: 'vLLM',
  llamacpp: 'llama.cpp',
  ollama: 'Ollama',
}

/** Types of the merged model as one GGUF: f16, q8_0 and q4_0 written by the export itself; q4_K_M by llama.cpp's quantizer. */
export const mergedGgufTypes = ['f16', 'q8_0', 'q4_0', 'q4_K_M'] as const

export type MergedGgufType = (typeof mergedGgufTypes)[number]

export const compatibilitySchema = z.object({
  targets: z.array(
    z.object({
      target: z.enum(exportTargets),
      loads: z.boolean(),
      /** Why it does not load, or a note on how it loads; null when there is nothing to say. */
      reason: z.string().nullable(),
      /** What to change so that it loads. */
      fix: z.string().nullable(),
    }),
  ),
  /** The base model's config.json model_type. */
  modelType: z.string().nullable(),
  /** llama.cpp's architecture for the GGUF adapter; null when the export does not know the layout. */
  ggufArchitecture: z.string().nullable(),
  /** The --max-lora-rank vLLM needs for this adapter. */
  vllmMaxLoraRank: z.int(),
  /** Which merged GGUF types this export can write, and why not the others. */
  mergedGguf: z.array(z.object({ type: z.enum(mergedGgufTypes), offered: z.boolean(), reason: z.string().nullable() })).optional(),
})

export type Compatibility = z.infer<typeof compatibilitySchema>

/** A completed job, or one of its checkpoints (by name). */
export const exportSourceSchema = z.object({
  jobId: z.string().min(1),
  checkpoint: z.string().min(1).nullable().default(null),
})

/** What the Export section shows before the user starts. */
export const exportPlanSchema = z.object({
  compatibility: compatibilitySchema,
  /** <dataDir>/exports/<job name>.zip (or <job name>-<checkpoint>.zip). */
  defaultDestination: z.string(),
  /** The same with -merged before .zip, for the merged model. */
  defaultMergedDestination: z.string(),
})

export type ExportPlan = z.infer<typeof exportPlanSchema>

export const exportRequestSchema = exportSourceSchema.extend({
  /** Where the zip goes; the default destination when left out. */
  destination: z.string().min(1).optional(),
  /** The adapter merged into the base in 16-bit, instead of the adapter alone. */
  merged: z.boolean().default(false),
  /** Also the merged model as one GGUF (model.gguf) of this type, which the Modelfile then runs alone. */
  ggufType: z.enum(mergedGgufTypes).nullable().optional(),
})

export type ExportRequest = z.input<typeof exportRequestSchema>

export const exportPhases = ['preparing', 'hashing', 'zipping', 'verifying', 'uploading', 'done', 'failed', 'cancelled'] as const

export const exportProgressSchema = z.object({
  jobId: z.string(),
  phase: z.enum(exportPhases),
  /** Bytes written into the zip (or sent to the Hub) so far, and in all (0 until zipping starts). */
  bytesDone: z.number().min(0),
  bytesTotal: z.number().min(0),
  /** What the Python step is doing, or why it failed. */
  message: z.string().nullable(),
})

export type ExportProgress = z.infer<typeof exportProgressSchema>

export const exportResultSchema = z.object({
  path: z.string(),
  bytes: z.number().min(0),
  /** Files in the zip, manifest.json included. */
  files: z.int().min(1),
  merged: z.boolean(),
  compatibility: compatibilitySchema,
})

export type ExportResult = z.infer<typeof exportResultSchema>

/** serve's route that gives a one-use link to download a finished zip (POST, with the token). */
export const downloadTicketPath = '/download/ticket'

/** Where such a link points: /download/<ticket>. */
export const downloadPath = '/download/'

/** A Hugging Face repository id: owner/name, letters, digits, dots, dashes and underscores. */
export const hubRepoPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/

/** Upload a job's adapter (or merged model) with its card to the user's Hugging Face repository. */
export const hubPushRequestSchema = exportSourceSchema.extend({
  repo: z.string().regex(hubRepoPattern, 'repository: give it as owner/name, for example my-name/my-adapter'),
  /** Private unless the user says otherwise; a repository that exists keeps its own setting. */
  private: z.boolean().default(true),
  merged: z.boolean().default(false),
})

export type HubPushRequest = z.input<typeof hubPushRequestSchema>

export const hubPushResultSchema = z.object({
  repo: z.string(),
  /** The repository's page, and the commit that added the files. */
  url: z.string(),
  commitUrl: z.string(),
  private: z.boolean(),
  /** The files committed, as named in the repository. */
  files: z.array(z.string()),
})

export type HubPushResult = z.infer<typeof hubPushResultSchema>
