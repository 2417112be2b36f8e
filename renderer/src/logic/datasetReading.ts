/**
 * How a dataset is read, in the user's words: the format choices, where a plain-text file's
 * documents end, and the reading the Datasets page keeps with a library dataset.
 */
import type { TextSplit } from '@shared/config'
import type { DatasetFormat } from '@shared/methods'
import type { DatasetReading } from '@shared/datasets'
import { checkColumns, type ColumnPair } from './advancedSettings'

export const textSplitLabels: Record<TextSplit, string> = {
  auto: 'Paragraphs if it has blank lines, else lines',
  line: 'One per line',
  paragraph: 'One per paragraph',
  file: 'The whole file',
}

/** The reading to keep, or the column mapping's problem in the user's words. */
export function readingOf(format: DatasetFormat, pairs: readonly ColumnPair[], textSplit: TextSplit): { reading?: DatasetReading; error?: string } {
  const columns = checkColumns(pairs)
  if (columns.error) return { error: columns.error }
  return { reading: { format, columns: columns.value ?? {}, textSplit } }
}

/** "sharegpt, messages from dialog, one document per line": a kept reading shown beside its dataset. */
export function describeReading(reading: DatasetReading): string {
  const parts = [reading.format === 'auto' ? 'format detected' : `read as ${reading.format}`]
  const mapped = Object.entries(reading.columns).map(([field, column]) => `${field} from ${column}`)
  if (mapped.length > 0) parts.push(mapped.join(', '))
  if (reading.textSplit !== 'auto') parts.push(textSplitLabels[reading.textSplit].toLowerCase())
  return parts.join('; ')
}


export { readingInput } from '@shared/datasets'
