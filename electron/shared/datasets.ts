/**
 * A dataset preview: what the trainer's own loader makes of a file, so what
 * the user previews is what trains (python -m tunedeck_trainer.data preview).
 */
import { z } from 'zod'
import { datasetFormats } from './config'

export const datasetPreviewInputSchema = z.object({
  path: z.string().min(1, 'choose a dataset file'),
  format: z.enum(datasetFormats).optional(),
  columns: z.record(z.string(), z.string()).optional(),
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
  rows: z.int().min(0),
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
