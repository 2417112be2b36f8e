/**
 * Turns the records datasets.preview returns (as the trainer normalises
 * them: messages, text, prompt/completion or preference pairs) into short
 * lines the form can show, and names where each bad row is.
 */
import type { DatasetPreview } from '@shared/datasets'

/** Bytes of the file read so far, and its size. */
export interface ReadProgress {
  done: number
  total: number
}

/** What the panel shows: nothing yet, reading (how far, and a way to stop), the preview, stopped by the user, or why the request failed. */
export type PreviewState =
  | { status: 'idle' }
  | { status: 'loading'; path: string; progress: ReadProgress | null; cancel: () => void }
  | { status: 'done'; preview: DatasetPreview }
  | { status: 'cancelled'; path: string; retry: () => void }
  | { status: 'failed'; path: string; error: string }

/** One line of a summarised record: a label (role or field) and its text, shortened. */
export interface PreviewLine {
  label: string
  text: string
}

/** Characters kept of each text; the preview is a glance, not a reader. */
export const previewTextLength = 160

/** Collapses whitespace and cuts long text with an ellipsis. */
export function shorten(text: string, length = previewTextLength): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > length ? `${flat.slice(0, length - 1)}…` : flat
}

function isMessage(value: unknown): value is { role: string; content: unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { role?: unknown }).role === 'string'
}

/** Text of a field that may be a string, a message, a list of messages or anything else. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value
  if (isMessage(value)) return flatten(value.content)
  if (Array.isArray(value))
    return value.map((item) => (isMessage(item) ? `${item.role}: ${flatten(item.content)}` : flatten(item))).join(' / ')
  if (value === null || value === undefined) return ''
  return JSON.stringify(value)
}

/**
 * The lines of one normalised record: "role: text" per message, the text
 * of a plain-text row, or prompt / chosen / rejected of a preference pair.
 * Unknown shapes show each field by name so nothing is hidden.
 */
export function summariseRecord(record: Record<string, unknown>): PreviewLine[] {
  const messages = record.messages
  if (Array.isArray(messages)) {
    return messages.map((message) =>
      isMessage(message)
        ? { label: message.role, text: shorten(flatten(message.content)) }
        : { label: 'message', text: shorten(flatten(message)) },
    )
  }
  const known = ['prompt', 'completion', 'label', 'chosen', 'rejected', 'text'].filter((key) => key in record)
  const keys = known.length > 0 ? known : Object.keys(record)
  // A feedback row's label says whether KTO is to favour the completion or steer away from it.
  const text = (key: string): string =>
    key === 'label' && typeof record.label === 'boolean'
      ? record.label
        ? 'true (desirable)'
        : 'false (undesirable)'
      : shorten(flatten(record[key]))
  return keys.map((key) => ({ label: key, text: text(key) }))
}

/** "line 3", "row 12", or "file" for a problem with no row; with the field when one is named. */
export function describeRowError(error: DatasetPreview['errors'][number]): string {
  const where = error.row === null ? 'file' : `${error.unit ?? 'row'} ${error.row}`
  return error.field ? `${where}, ${error.field}` : where
}

/** "1 row", "2 rows", "1,000 examples": a count with its noun, singular for one. */
export function plural(count: number, noun: string): string {
  return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`
}

/**
 * "91 rows · 90 usable · 1 skipped" for the preview's header; "1 bad" when
 * bad rows fail the job, since then nothing is skipped.
 */
export function describeCounts(preview: Pick<DatasetPreview, 'rows' | 'usable' | 'skipped' | 'badRows'>): string {
  return `${plural(preview.rows, 'row')} · ${preview.usable} usable · ${preview.skipped} ${preview.badRows === 'fail' ? 'bad' : 'skipped'}`
}

/**
 * What the bad rows mean for the job, by its bad-rows choice: with "fail"
 * the first one stops it; with "skip" they are left out and counted.
 */
export function badRowsHeadline(preview: Pick<DatasetPreview, 'badRows' | 'skipped' | 'errors'>): string {
  const count = preview.skipped > 0 ? preview.skipped : preview.errors.length
  const rows = count === 1 ? '1 row does' : `${count} rows do`
  const first = preview.errors[0]
  if (preview.badRows === 'fail' && first) {
    return `${rows} not fit the format: the job would stop at ${describeRowError(first)}.`
  }
  return `${rows} not fit the format and would be skipped.`
}

/** What the form and the preview say when the model's chat template does not render rows' tools or tool calls. */
export function toolsLostWarning(count: number): string {
  return `${plural(count, 'row')} ${count === 1 ? 'loses its' : 'lose their'} tools: this model's chat template renders ${count === 1 ? 'it' : 'them'} the same without the tool definitions or calls, so the calls train as plain JSON text and the definitions are left out. Choose a model whose template knows tools (Qwen2.5, Llama 3.1, Mistral) to train them in its own markup.`
}
