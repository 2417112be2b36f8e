/**
 * The form's mix of datasets (dataset.mix) and its GPUs (training.gpus): the rows as typed, what
 * jobs.create and the preview get from them, and the global batch the GPUs make.
 */
import type { CsvHeader, JobConfig, MixEntry, TextSplit } from '@shared/config'
import type { DatasetEntry } from '@shared/datasets'
import type { DatasetFormat } from '@shared/methods'

/** A mixed dataset as the form holds it: its path, its weight as typed, and the library's way of reading it. */
export interface MixRow {
  path: string
  /** As typed; empty runs with 1 (every row). */
  weight: string
  format: DatasetFormat
  columns: Record<string, string>
  textSplit: TextSplit
  csvHeader: CsvHeader
}

/** A weight as typed: a number, the text itself for the schema to refuse, or undefined when empty. */
export function typedWeight(text: string): number | string | undefined {
  const trimmed = text.trim()
  if (trimmed === '') return undefined
  return Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed
}

/** A library dataset as a row of the mix, read the way the Datasets page reads it. */
export function mixRowOf(dataset: Pick<DatasetEntry, 'path' | 'reading'>): MixRow {
  const reading = dataset.reading
  return {
    path: dataset.path,
    weight: '',
    format: reading?.format ?? 'auto',
    columns: { ...(reading?.columns ?? {}) },
    textSplit: reading?.textSplit ?? 'auto',
    csvHeader: reading?.csvHeader ?? 'auto',
  }
}

/** The rows of a job's config.json, for "run again". */
export function mixRowsOf(config: JobConfig): MixRow[] {
  return config.dataset.mix.map((entry) => ({
    path: entry.path,
    weight: entry.weight === 1 ? '' : String(entry.weight),
    format: entry.format,
    columns: { ...entry.columns },
    textSplit: entry.textSplit,
    csvHeader: entry.csvHeader,
  }))
}

/** A row as jobs.create and datasets.preview take it: only what differs from the defaults. */
export function mixEntryInput(row: MixRow): Partial<Omit<MixEntry, 'weight'>> & { path: string; weight?: number | string } {
  const weight = typedWeight(row.weight)
  return {
    path: row.path.trim(),
    ...(weight !== undefined ? { weight } : {}),
    ...(row.format !== 'auto' ? { format: row.format } : {}),
    ...(Object.keys(row.columns).length > 0 ? { columns: row.columns } : {}),
    ...(row.textSplit !== 'auto' ? { textSplit: row.textSplit } : {}),
    ...(row.csvHeader !== 'auto' ? { csvHeader: row.csvHeader } : {}),
  }
}

/** The rows with a path, as sent. */
export function mixInput(rows: readonly MixRow[]): ReturnType<typeof mixEntryInput>[] {
  return rows.filter((row) => row.path.trim() !== '').map(mixEntryInput)
}

/** training.gpus as typed: "all", a count ("2"), or CUDA indices ("0, 1"); undefined when empty (the default, all). */
export function typedGpus(text: string): 'all' | number | number[] | string | undefined {
  const trimmed = text.trim()
  if (trimmed === '') return undefined
  if (trimmed.toLowerCase() === 'all') return 'all'
  if (/^\d+$/.test(trimmed)) return Number(trimmed)
  if (/^\d+(\s*,\s*\d+)+$/.test(trimmed) || /^\[.*\]$/.test(trimmed)) {
    const list = trimmed
      .replace(/^\[|\]$/g, '')
      .split(',')
      .map((part) => part.trim())
    if (list.every((part) => /^\d+$/.test(part))) return list.map(Number)
  }
  return trimmed
}

/** How many ranks train: every GPU the machine reports for "all" (one process without a GPU), a count, or the listed indices. */
export function rankCount(gpus: unknown, machineGpus: number): number {
  if (typeof gpus === 'number') return gpus
  if (Array.isArray(gpus)) return gpus.length
  return Math.max(1, machineGpus)
}

/** The global batch: examples per optimizer step over every rank (training.batchSize x ranks x gradientAccumulation). */
export function globalBatch(batchSize: number, ranks: number, accumulation: number): number {
  return batchSize * ranks * accumulation
}
