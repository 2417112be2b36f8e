/**
 * How a dataset is read, in the user's words: the format choices, where a plain-text file's
 * documents end, whether a CSV file's first row names its columns, and the reading the Datasets
 * page keeps with a library dataset.
 */
import type { CsvHeader, TextSplit } from '@shared/config'
import type { DatasetFormat } from '@shared/methods'
import type { DatasetReading } from '@shared/datasets'
import { checkColumns, type ColumnPair } from './advancedSettings'

export const textSplitLabels: Record<TextSplit, string> = {
  auto: 'Paragraphs if it has blank lines, else lines',
  line: 'One per line',
  paragraph: 'One per paragraph',
  file: 'The whole file',
}

export const csvHeaderLabels: Record<CsvHeader, string> = {
  auto: 'Guess from the first row',
  yes: 'Yes: the first row names the columns',
  no: 'No: the first row is data (columns column_1, column_2, …)',
}

/** The reading to keep, or the column mapping's problem in the user's words. */
export function readingOf(
  format: DatasetFormat,
  pairs: readonly ColumnPair[],
  textSplit: TextSplit,
  csvHeader: CsvHeader = 'auto',
): { reading?: DatasetReading; error?: string } {
  const columns = checkColumns(pairs)
  if (columns.error) return { error: columns.error }
  return { reading: { format, columns: columns.value ?? {}, textSplit, csvHeader } }
}

/** True when the columns are the names the trainer gives a CSV file whose first row is data (column_1..n). */
export function namedByPosition(columns: readonly string[]): boolean {
  return columns.length > 0 && columns.every((column, index) => column === `column_${index + 1}`)
}

/** "read as sharegpt; messages from dialog; one per line": a kept reading shown beside its dataset. */
export function describeReading(reading: DatasetReading): string {
  const parts = [reading.format === 'auto' ? 'format detected' : `read as ${reading.format}`]
  const mapped = Object.entries(reading.columns).map(([field, column]) => `${field} from ${column}`)
  if (mapped.length > 0) parts.push(mapped.join(', '))
  if (reading.textSplit !== 'auto') parts.push(textSplitLabels[reading.textSplit].toLowerCase())
  if (reading.csvHeader === 'no') parts.push('the first row is data')
  if (reading.csvHeader === 'yes') parts.push('the first row names the columns')
  return parts.join('; ')
}

export { readingInput } from '@shared/datasets'
