/**
 * A dataset preview: what the trainer's own loader makes of a file, so what
 * the user previews is what trains (python -m tunedeck_trainer.data preview).
 */
import { z } from 'zod'
import { csvHeaders, textSplits } from './config'
import { datasetFormats } from './methods'
import { typedName } from './names'

/**
 * Keys and role tags inside conversation turns, which a column mapping may name for
 * ShareGPT-like files that use other names; the trainer's TAGS (generated into contract.py).
 */
export const turnTagFields = ['role_tag', 'content_tag', 'user_tag', 'assistant_tag', 'system_tag', 'tool_tag'] as const

/**
 * Our field names, which a column mapping (dataset.columns) may point at the
 * file's own column names; the trainer's FIELDS (generated into contract.py).
 */
export const datasetFields = [
  'instruction',
  'input',
  'output',
  'system',
  'history',
  'conversations',
  'messages',
  'prompt',
  'completion',
  'chosen',
  'rejected',
  /** Preference pairs as two whole conversations (LLaMA-Factory's pair layout). */
  'chosen_messages',
  'rejected_messages',
  'text',
  'label',
  'tools',
  ...turnTagFields,
] as const

export type DatasetField = (typeof datasetFields)[number]

/** What a row that does not fit the format does: stop the job, or be skipped and counted. */
export const badRowsChoices = ['fail', 'skip'] as const

export type BadRows = (typeof badRowsChoices)[number]

/** Our field name -> the file's column name; unknown field names are refused, naming the allowed ones. */
export const columnMappingSchema = z.record(z.string(), z.string().min(1, "name the file's column")).superRefine((columns, context) => {
  for (const field of Object.keys(columns)) {
    if (!(datasetFields as readonly string[]).includes(field)) {
      context.addIssue({
        code: 'custom',
        path: [field],
        message: `"${field}" is not a field Tunedeck reads; map one of ${datasetFields.join(', ')}`,
      })
    }
  }
})

/**
 * What the preview tokenises with: the base model's tokenizer and chat template
 * (modelPath), else the documented default (the self-test tokenizer with ChatML).
 */
export const tokenPreviewInputSchema = z.object({
  modelPath: z.string().min(1).optional(),
  maxSeqLength: z.int().min(2).max(1_048_576).optional(),
  trainOnInputs: z.boolean().optional(),
  /** How many examples to show token by token. */
  shown: z.int().min(1).max(20).optional(),
})

export const datasetPreviewInputSchema = z.object({
  path: z.string().min(1, 'choose a dataset file'),
  format: z.enum(datasetFormats).optional(),
  columns: columnMappingSchema.optional(),
  /** Where a .txt file's documents end (dataset.textSplit); default auto. */
  textSplit: z.enum(textSplits).optional(),
  /** Whether a CSV file's first row names its columns (dataset.csvHeader); default auto, guessed. */
  csvHeader: z.enum(csvHeaders).optional(),
  /** The job's choice, so the preview says whether bad rows would stop it or be skipped; default fail, as in config.json. */
  badRows: z.enum(badRowsChoices).optional(),
  /** Records to return; 0 for counts only (an import's check: a row may be 100 MB). */
  limit: z.int().min(0).max(200).optional(),
  /** Also tokenise: masks of the first examples and token counts of every row. */
  tokens: tokenPreviewInputSchema.optional(),
  /**
   * Chosen by the client: the preview then reports datasets.preview_progress events under this id
   * and datasets.preview_cancel stops it (a big file's token counts take minutes); without one it
   * must end within a minute.
   */
  requestId: z.string().min(1).max(100).optional(),
  /**
   * More datasets mixed with this one (a job's dataset.mix), each read its own way; the preview's records
   * and token counts are then of the mix, drawn as the trainer draws it (`weight` is this file's share, `seed` training.seed).
   */
  mix: z
    .array(
      z.object({
        path: z.string().min(1, 'choose a dataset file'),
        format: z.enum(datasetFormats).optional(),
        columns: columnMappingSchema.optional(),
        textSplit: z.enum(textSplits).optional(),
        weight: z.number().positive().max(100).optional(),
      }),
    )
    .max(16)
    .optional(),
  weight: z.number().positive().max(100).optional(),
  seed: z.int().min(0).optional(),
})

/** How far a preview has read its file. */
export const previewProgressSchema = z.object({
  requestId: z.string(),
  /** Bytes read so far, and the file's size. */
  done: z.number().min(0),
  total: z.number().min(0),
})

export type PreviewProgress = z.infer<typeof previewProgressSchema>

/**
 * One piece of an example as the trainer sees it: learned (a training target) or masked, special
 * or not. Byte-level tokens that each hold part of a character (Chinese, an en dash) are grouped
 * until they decode to whole characters; `tokens` says how many tokens the piece holds.
 */
export const previewTokenSchema = z.object({
  text: z.string(),
  learned: z.boolean(),
  special: z.boolean(),
  tokens: z.int().min(1).default(1),
})

export type PreviewToken = z.infer<typeof previewTokenSchema>

/** The answers of judged rows, as the preview names them. */
export const judgedSides = ['chosen', 'rejected', 'desirable', 'undesirable'] as const

export type JudgedSide = (typeof judgedSides)[number]

export const tokenPreviewSchema = z.object({
  /** The model folder whose tokenizer was used, or the default's description. */
  tokenizer: z.string(),
  examples: z.array(z.array(previewTokenSchema)),
  /** Tokens per example, in bins [start, end). */
  histogram: z.array(z.object({ start: z.int(), end: z.int(), count: z.int() })),
  /** Examples longer than the maximum sequence length (cut to it when training). */
  overLength: z.int().min(0),
  /** Plain text: how many training blocks the corpus becomes; null for conversations. */
  blocks: z.int().min(0).nullable(),
  learnedTokens: z.int().min(0),
  /** Examples SFT trains on (a learned token left after the cut); for text, the blocks. */
  trainable: z.int().min(0),
  /** The rows those examples pack into (training.packing); for text, the blocks. */
  packedRows: z.int().min(0),
  /** Rows with tools or tool calls that the model's chat template renders the same without them (so they are lost, or calls become plain JSON text). */
  toolsLost: z.int().min(0).default(0),
  /**
   * For each example, which answer of a judged row it shows after the prompt: a preference pair's chosen or
   * rejected answer (DPO, ORPO), a feedback row's desirable or undesirable one (KTO); null for an SFT example.
   */
  sides: z.array(z.enum(judgedSides).nullable()).default([]),
})

export type TokenPreview = z.infer<typeof tokenPreviewSchema>

export const datasetRowErrorSchema = z.object({
  row: z.int().nullable(),
  /** "line" for JSONL and CSV, "row" for JSON arrays and Parquet. */
  unit: z.string().nullable(),
  field: z.string().nullable(),
  message: z.string(),
})

/** One dataset of a previewed mix: its rows and how many the mix takes (python-runtime/tunedeck_trainer/data/mixing.py). */
export const mixPartSchema = z.object({
  path: z.string(),
  /** The format it was read as; null when it could not be read (`error` says why). */
  format: z.string().nullable(),
  /** Its usable rows, and the rows its weight takes of them. */
  rows: z.int().min(0),
  weight: z.number(),
  taken: z.int().min(0),
  error: z.string().nullable(),
})

export type MixPart = z.infer<typeof mixPartSchema>

export const datasetPreviewSchema = z.object({
  ok: z.boolean(),
  path: z.string(),
  /** The detected (or chosen) format; null when the file could not be read. */
  format: z.string().nullable(),
  /** The bad-rows choice the preview was read with: with "fail" the first of `errors` would stop the job. */
  badRows: z.enum(badRowsChoices),
  rows: z.int().min(0),
  /** Rows that fit the format; `skipped` those that do not (skipped by a job only with badRows "skip"). */
  usable: z.int().min(0),
  skipped: z.int().min(0),
  columns: z.array(z.string()),
  /** The first rows as the trainer normalises them (messages, text or preference pairs). */
  records: z.array(z.record(z.string(), z.unknown())),
  errors: z.array(datasetRowErrorSchema),
  /** Set when the file as a whole cannot be read, with what to do. */
  error: z.string().nullable(),
  /** With input.tokens: the masks and token stats; null when not asked or the tokenizer failed (tokenError says why). */
  tokens: tokenPreviewSchema.nullable().default(null),
  tokenError: z.string().nullable().default(null),
  /** The file reads but no format fits its fields: the user must choose how to read it (Read as…). */
  needsReading: z.boolean().default(false),
  /** Then: its first rows as read (long values cut short), for the column mapping. */
  sample: z.array(z.record(z.string(), z.unknown())).default([]),
  /** Then: the format and mapping its column names and values suggest. */
  suggestion: z
    .object({ format: z.enum(datasetFormats), columns: z.record(z.string(), z.string()) })
    .nullable()
    .default(null),
  /** With input.mix: each dataset of the mix, this file first; `records` and `tokens` are then of the mix. */
  mix: z.array(mixPartSchema).nullable().default(null),
})

export type DatasetPreview = z.infer<typeof datasetPreviewSchema>

/**
 * How a library dataset is read: chosen on the Datasets page for a file whose format cannot be
 * detected or whose columns have their own names, kept in its dataset.json, and used by its
 * preview and by a job on it that leaves these settings at their defaults.
 */
export const datasetReadingSchema = z.object({
  format: z.enum(datasetFormats).default('auto'),
  columns: columnMappingSchema.default({}),
  textSplit: z.enum(textSplits).default('auto'),
  csvHeader: z.enum(csvHeaders).default('auto'),
})

export type DatasetReading = z.infer<typeof datasetReadingSchema>

/** A kept reading as datasets.preview input: only what differs from the defaults. */
export function readingInput(
  reading: DatasetReading | undefined,
): Pick<z.input<typeof datasetPreviewInputSchema>, 'format' | 'columns' | 'textSplit' | 'csvHeader'> {
  if (reading === undefined) return {}
  return {
    ...(reading.format !== 'auto' ? { format: reading.format } : {}),
    ...(Object.keys(reading.columns).length > 0 ? { columns: reading.columns } : {}),
    ...(reading.textSplit !== 'auto' ? { textSplit: reading.textSplit } : {}),
    ...(reading.csvHeader !== 'auto' ? { csvHeader: reading.csvHeader } : {}),
  }
}

/** A job that trained on a library dataset, shown beside it. */
export const datasetJobSchema = z.object({ jobId: z.string(), name: z.string(), status: z.string() })

/**
 * A dataset in the library (data directory's datasets/<id>/): the file the
 * user imported, copied once by content (SHA-256), read and checked with the
 * trainer's loader when imported or re-checked.
 */
export const datasetEntrySchema = z.object({
  id: z.string(),
  name: z.string(),
  /** The imported file's (or save_to_disk folder's) own name. */
  fileName: z.string(),
  /** Its absolute path inside the data directory: what a job's dataset.path names. */
  path: z.string(),
  format: z.string(),
  rows: z.int().min(0),
  usable: z.int().min(0),
  bad: z.int().min(0),
  bytes: z.int().min(0),
  /** SHA-256 of the bytes (for a folder: of each file's relative name and SHA-256, in name order). */
  sha256: z.string(),
  /** ISO time of the import. */
  importedAt: z.string(),
  checkedAt: z.string(),
  /** How it is read, when chosen on the Datasets page; absent: detected, with no column mapping. */
  reading: datasetReadingSchema.optional(),
  /**
   * Set while no format fits the file's fields (a header-less CSV, odd column names): why, in the
   * trainer's words. Imported all the same; the Datasets page opens Read as… for it, and no job
   * can use it until a reading is kept.
   */
  unread: z.string().optional(),
  /** Jobs whose dataset.path is this dataset's file. */
  jobs: z.array(datasetJobSchema),
  /** Bytes of its encoded data in the trainer's cache (<data>/cache/encoded): what Clear frees. */
  encodedBytes: z.int().min(0),
})

export type DatasetEntry = z.infer<typeof datasetEntrySchema>

export const datasetImportInputSchema = z.object({
  /** A file or a save_to_disk folder to copy into the library. */
  path: z.string().min(1, 'choose a dataset file'),
  name: typedName().min(1).max(200).optional(),
})

export const datasetImportResultSchema = z.object({
  dataset: datasetEntrySchema,
  /** True when the same bytes were already in the library: nothing was copied. */
  duplicate: z.boolean(),
})

export type DatasetImportResult = z.infer<typeof datasetImportResultSchema>

export const datasetIdSchema = z.object({ datasetId: z.string().regex(/^[a-z0-9-]{1,64}$/, 'not a dataset id') })

export const datasetDeleteInputSchema = datasetIdSchema.extend({
  /** Needed when jobs trained on the dataset; their own copies keep them reproducible. */
  confirm: z.boolean().optional(),
})

/** The HTTP path of serve's upload endpoint (POST, the token as for the WebSocket, ?name=FILE). */
export const datasetUploadPath = '/upload/dataset'
