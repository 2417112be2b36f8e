/**
 * What the Read as… editor shows of a library dataset's file before a reading is kept: its
 * columns as the trainer reads them with the chosen CSV header row, and, when no format fits, its
 * first rows and the format and mapping the trainer suggests from the column names and values.
 */
import { useEffect, useState } from 'react'
import type { CsvHeader } from '@shared/config'
import type { DatasetPreview } from '@shared/datasets'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'

/** The file read with `csvHeader` and nothing else chosen (null while reading). */
export function useReadingSample(path: string, csvHeader: CsvHeader): { sample: DatasetPreview | null; error: string | null } {
  const [sample, setSample] = useState<DatasetPreview | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    let current = true
    setSample(null)
    setError(null)
    getClient()
      .request('datasets.preview', { path, limit: 3, ...(csvHeader !== 'auto' ? { csvHeader } : {}) })
      .then(
        (answer) => current && setSample(answer),
        (failure: unknown) => current && setError(errorMessage(failure)),
      )
    return () => {
      current = false
    }
  }, [path, csvHeader])
  return { sample, error }
}

/** A sampled value as one short line. */
export function sampleText(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '')
  return text.length > 80 ? `${text.slice(0, 80)}…` : text
}
