/**
 * The Datasets page's "Read as" for one library dataset: its format, column mapping and text
 * split, checked by reading the file again (datasets.set_reading) and then kept with it, so its
 * preview and the jobs on it read it that way.
 */
import { useState } from 'react'
import { textSplits, type TextSplit } from '@shared/config'
import { datasetFormatTable, datasetFormats, type DatasetFormat } from '@shared/methods'
import type { DatasetEntry } from '@shared/datasets'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { columnPairs, type ColumnPair } from '../logic/advancedSettings'
import { readingOf, textSplitLabels } from '../logic/datasetReading'
import { ColumnMapping } from './AdvancedSettings'

/** The editor; `saved` is called with the dataset as read the new way. */
export function DatasetReadingEditor({ dataset, fileColumns, saved }: { dataset: DatasetEntry; fileColumns: readonly string[]; saved(entry: DatasetEntry): void }) {
  const [format, setFormat] = useState<DatasetFormat>(dataset.reading?.format ?? 'auto')
  const [textSplit, setTextSplit] = useState<TextSplit>(dataset.reading?.textSplit ?? 'auto')
  const [pairs, setPairs] = useState<ColumnPair[]>(columnPairs(dataset.reading?.columns ?? {}))
  const [error, setError] = useState<string | null>(null)
  const [saving, setSaving] = useState(false)
  const save = async (): Promise<void> => {
    const { reading, error: problem } = readingOf(format, pairs, textSplit)
    if (!reading) return setError(problem ?? null)
    setSaving(true)
    setError(null)
    try {
      saved(await getClient().request('datasets.set_reading', { datasetId: dataset.id, reading }))
    } catch (failure) {
      setError(errorMessage(failure))
    } finally {
      setSaving(false)
    }
  }
  return (
    <div className="dataset-reading" data-testid="dataset-reading">
      <label className="field">
        <span className="field-label">Format</span>
        <select data-testid="reading-format" value={format} onChange={(event) => setFormat(datasetFormats.find((value) => value === event.target.value) ?? 'auto')}>
          {datasetFormats.map((value) => (
            <option key={value} value={value}>
              {datasetFormatTable[value].label}
            </option>
          ))}
        </select>
      </label>
      {dataset.fileName.toLowerCase().endsWith('.txt') && (
        <label className="field">
          <span className="field-label">Documents</span>
          <select data-testid="reading-text-split" value={textSplit} onChange={(event) => setTextSplit(textSplits.find((value) => value === event.target.value) ?? 'auto')}>
            {textSplits.map((value) => (
              <option key={value} value={value}>
                {textSplitLabels[value]}
              </option>
            ))}
          </select>
        </label>
      )}
      <ColumnMapping pairs={pairs} change={setPairs} fileColumns={fileColumns} />
      <button type="button" className="small primary" data-testid="reading-save" disabled={saving} onClick={() => void save()}>
        {saving ? 'Reading the file…' : 'Read it this way'}
      </button>
      {error && (
        <p className="error-text small" data-testid="reading-error" role="alert">
          {error}
        </p>
      )}
    </div>
  )
}
