/**
 * Evaluation of a finished job, base against tuned, on its held-out rows: loss and perplexity of
 * each on the reference answers, exact match, ROUGE-L and BLEU on greedy answers, with examples.
 * Saved as jobs/<id>/evaluation.json; shown on the job page and written into the export's card.
 */
import { z } from 'zod'

const sideSchema = z.object({
  loss: z.number(),
  perplexity: z.number(),
  /** 0..1 each. */
  exactMatch: z.number(),
  rougeL: z.number(),
  bleu: z.number(),
})

export const evaluationSchema = z.object({
  version: z.literal(1),
  /** held-out: the job's validation rows; training: its last rows (the job held none out); dataset: a chosen file's first rows. */
  source: z.enum(['held-out', 'training', 'dataset']),
  /** The chosen dataset's file (source "dataset"). */
  datasetPath: z.string().optional(),
  rows: z.int(),
  adapter: z.string(),
  maxNewTokens: z.int(),
  date: z.string(),
  base: sideSchema,
  tuned: sideSchema,
  examples: z.array(z.object({ prompt: z.string(), reference: z.string(), base: z.string(), tuned: z.string() })),
})

export type Evaluation = z.infer<typeof evaluationSchema>

export const evaluateRequestSchema = z.object({
  jobId: z.string().min(1),
  /** At most this many rows (default 50). */
  limit: z.int().min(1).max(1000).optional(),
  maxNewTokens: z.int().min(1).max(1024).optional(),
  /** A library dataset's id, or a dataset file's path: its rows instead of the job's held-out ones. */
  dataset: z.string().min(1).optional(),
})

/** An evaluation moved on: rows done of all. */
export const evaluationProgressSchema = z.object({ jobId: z.string(), done: z.int(), total: z.int() })
