/**
 * What the form learns from the dataset preview before Start: why the
 * dataset cannot train (so Start is refused with the reason beside the
 * field), and which method a dataset's shape fits when it is not the chosen one.
 */
import type { Method } from '@shared/config'
import type { PreviewState } from '../components/useDatasetPreview'

/**
 * Why the previewed dataset cannot train, or null when it can, is not read
 * yet, or is missing (the host names a missing path beside the field itself,
 * with the other fields' problems). Bad rows are not refused: with bad rows
 * "fail" the preview already says where the job would stop.
 */
export function datasetRefusal(state: PreviewState): string | null {
  if (state.status !== 'done') return null
  const { preview } = state
  if (!preview.ok) return preview.error ?? `${preview.path} cannot be read.`
  if (preview.usable === 0) {
    const first = preview.errors[0]?.message.replace(/\.$/, '')
    return `${preview.path} has no usable rows (${preview.rows} read)${first ? `; the first problem: ${first}` : ''}. Fix the file or the column mapping.`
  }
  return null
}

const formatMethods: Record<string, { method: Method; what: string }> = {
  preference: { method: 'dpo', what: 'preference pairs (prompt, chosen, rejected)' },
  feedback: { method: 'kto', what: 'feedback rows (prompt, completion, label)' },
}

/** The method the dataset's format fits, when it is not `chosen`; null when they agree. */
export function methodForFormat(format: string | null, chosen: Method): { method: Method; what: string } | null {
  const owner = format ? formatMethods[format] : undefined
  if (owner) return owner.method === chosen ? null : owner
  // Conversations, text, instructions: SFT's formats.
  if (chosen !== 'sft' && format) return { method: 'sft', what: `${format} rows (conversations or text)` }
  return null
}
