/**
 * A dataset preview: what the trainer's own loader makes of a file, so what
 * the user previews is what trains (python -m tunedeck_trainer.data preview).
 */
import { z } from 'zod'
import { datasetFormats } from './config'

/**
 * Our field names, which a column mapping (dataset.columns) may point at the
 * file's own column names; the trainer's FIELDS in data/formats.py.
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
  'text',
] as const

export type DatasetField = (typeof datasetFields)[number]

/** What a row that does not fit the format does: stop the job, or be skipped and counted. */
export const badRowsChoices = ['fail', 'skip'] as const

export type BadRows = (typeof badRowsChoices)[number]

/** Our field name -> the file's column name; unknown field names are refused, naming the allowed ones. */
export const columnMappingSchema = z.record(z.string(), z.string().min(1, "name the file's column")).superRefine((columns, context) => {
  for (const field of Object.keys(columns)) {
    if (!(datasetFields as readonly string[]).includes(field)) {
      context.addIssue({ code: 'custom', path: [field], message: `"${field}" is not a field Tunedeck reads; map one of ${datasetFields.join(', ')}` })
    }
  }
})

export const datasetPreviewInputSchema = z.object({
  path: z.string().min(1, 'choose a dataset file'),
  format: z.enum(datasetFormats).optional(),
  columns: columnMappingSchema.optional(),
  /** The job's choice, so the preview says whether bad rows would stop it or be skipped; default fail, as in config.json. */
  badRows: z.enum(badRowsChoices).optional(),
  limit: z.int().min(1).max(200).optional(),
})

export const datasetRowErrorSchema = z.object({
  row: z.int().nullable(),
  /** "line" for JSONL and CSV, "row" for JSON arrays and Parquet. */
  unit: z.string().nullable(),
  field: z.string().nullable(),
  message: z.string(),
})

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
})

export type DatasetPreview = z.infer<typeof datasetPreviewSchema>
