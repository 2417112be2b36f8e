/**
 * datasets.preview for the path typed in the form, with the job's format,
 * column mapping and bad-rows choice, so what the user previews is what
 * trains. Asked again (after a pause in typing) when any of them changes;
 * answers to an older request are dropped so a slow read never overwrites a
 * newer one. Each read reports how far it has got and can be stopped (a
 * gigabyte of rows takes minutes to tokenise); a newer request stops the older.
 */
import { useEffect, useRef, useState } from 'react'
import type { CsvHeader, TextSplit } from '@shared/config'
import type { DatasetFormat } from '@shared/methods'
import type { BadRows, DatasetPreview } from '@shared/datasets'
import { followPreview, type FollowedPreview } from '../api/previews'
import { fieldErrorsOf } from '@shared/errors'
import { errorMessage, toAppError } from '../api/errors'
import type { PreviewState } from '../logic/datasetPreview'

/** Typing pauses this long before the file is read. */
const debounceMs = 400
/** Records the panel shows; the trainer reads the whole file either way. */
const previewLimit = 5

/** How the job would read the file, besides its path. */
export interface PreviewSettings {
  format: DatasetFormat
  /** Our field name -> the file's column name; only complete rows. */
  columns: Readonly<Record<string, string>>
  badRows: BadRows
  /** Where a .txt file's documents end; absent: auto. */
  textSplit?: TextSplit
  /** Whether a CSV file's first row names its columns (a library dataset's kept reading); default auto, guessed. */
  csvHeader?: CsvHeader
  /** Also tokenise with this model's tokenizer (none: the self-test's), for the step estimate; absent: rows only. */
  tokens?: { modelPath?: string; maxSeqLength: number; trainOnInputs: boolean }
  /** More datasets mixed with this one (dataset.mix), this file's weight and the seed: the records and tokens are then the mix's. */
  mix?: {
    entries: ReadonlyArray<{
      path: string
      weight?: number | string
      format?: DatasetFormat
      columns?: Record<string, string>
      textSplit?: TextSplit
    }>
    weight?: number
    seed: number
  }
}

/** Previews `path` as the job would read it; empty path or `enabled` false shows nothing. */
export function useDatasetPreview(path: string, settings: PreviewSettings, enabled: boolean): PreviewState {
  const [state, setState] = useState<PreviewState>({ status: 'idle' })
  // Bumped by "Preview again" after a cancel.
  const [attempt, setAttempt] = useState(0)
  const latest = useRef(0)
  const trimmed = path.trim()
  const { format, badRows } = settings
  const textSplit = settings.textSplit ?? 'auto'
  const csvHeader = settings.csvHeader ?? 'auto'
  // A new object every render: compare the mapping by its text.
  const columnsKey = JSON.stringify(settings.columns)
  const tokensKey = JSON.stringify(settings.tokens ?? null)
  const mixKey = JSON.stringify(settings.mix && settings.mix.entries.length > 0 ? settings.mix : null)

  useEffect(() => {
    const request = ++latest.current
    if (!enabled || trimmed === '') {
      setState({ status: 'idle' })
      return
    }
    let running: FollowedPreview | null = null
    let stopped = false
    const current = (): boolean => request === latest.current && !stopped
    const cancel = (): void => {
      stopped = true
      running?.cancel()
      setState({ status: 'cancelled', path: trimmed, retry: () => setAttempt((count) => count + 1) })
    }
    const timer = setTimeout(() => {
      setState({ status: 'loading', path: trimmed, progress: null, cancel })
      const columns = JSON.parse(columnsKey) as Record<string, string>
      const tokens = JSON.parse(tokensKey) as PreviewSettings['tokens'] | null
      const mix = JSON.parse(mixKey) as PreviewSettings['mix'] | null
      // A weight typed as text is the form's to refuse: the preview takes the others.
      const entries = (mix?.entries ?? []).map(({ weight, ...entry }) => ({ ...entry, ...(typeof weight === 'number' ? { weight } : {}) }))
      const rowsOnly = {
        path: trimmed,
        ...(format !== 'auto' ? { format } : {}),
        ...(Object.keys(columns).length > 0 ? { columns } : {}),
        ...(textSplit !== 'auto' ? { textSplit } : {}),
        ...(csvHeader !== 'auto' ? { csvHeader } : {}),
        badRows,
        limit: previewLimit,
        ...(mix ? { mix: entries, seed: mix.seed, ...(mix.weight !== undefined ? { weight: mix.weight } : {}) } : {}),
      }
      const withTokens = tokens
        ? {
            ...rowsOnly,
            tokens: {
              ...(tokens.modelPath !== undefined ? { modelPath: tokens.modelPath } : {}),
              maxSeqLength: tokens.maxSeqLength,
              trainOnInputs: tokens.trainOnInputs,
              shown: 1,
            },
          }
        : rowsOnly
      // Followed, so that a big file shows how far it has been read and can be stopped.
      const start = (input: typeof rowsOnly): Promise<DatasetPreview> => {
        running = followPreview(input, (progress) => {
          if (current()) setState({ status: 'loading', path: trimmed, progress, cancel })
        })
        return running.result
      }
      // A model path the host refuses (missing, or outside serve's folders) must not hide the rows: ask again without it.
      const ask = (): Promise<DatasetPreview> =>
        start(withTokens).catch((error: unknown) => {
          if (tokens && 'tokens.modelPath' in fieldErrorsOf(toAppError(error))) return start(rowsOnly)
          throw error
        })
      ask().then(
        (preview) => {
          if (current()) setState({ status: 'done', preview })
        },
        (error: unknown) => {
          if (current()) setState({ status: 'failed', path: trimmed, error: `Could not preview ${trimmed}: ${errorMessage(error)}` })
        },
      )
    }, debounceMs)
    return () => {
      clearTimeout(timer)
      // Another path or other settings: the old read is of no use any more.
      running?.cancel()
    }
  }, [trimmed, format, columnsKey, textSplit, csvHeader, badRows, enabled, tokensKey, mixKey, attempt])

  return state
}

/** The message to show beside the dataset field, when the file as a whole could not be read. */
export function fileError(state: PreviewState): string | null {
  if (state.status === 'failed') return state.error
  if (state.status === 'done' && !state.preview.ok) return state.preview.error ?? `${state.preview.path} could not be read.`
  return null
}
