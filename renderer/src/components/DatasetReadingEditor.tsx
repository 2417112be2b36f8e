/**
 * The Datasets page's "Read as…" for one library dataset: its format, column mapping, text split
 * and (for CSV) whether the first row names the columns, checked by reading the file again
 * (datasets.set_reading) and then kept with it, so its preview and the jobs on it read it that way.
 * It opens by itself for a dataset whose format could not be told at import, filled in with the
 * trainer's suggestion from the column names and values, beside the file's first rows.
 */
import { useEffect, useState } from 'react'
import { csvHeaders, textSplits, type CsvHeader, type TextSplit } from '@shared/config'
import { datasetFormatTable, datasetFormats, type DatasetFormat } from '@shared/methods'
import type { DatasetEntry } from '@shared/datasets'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { columnPairs, type ColumnPair } from '../logic/advancedSettings'
import { csvHeaderLabels, namedByPosition, readingOf, textSplitLabels } from '../logic/datasetReading'
import { ColumnMapping } from './AdvancedSettings'
import { ReadingSample } from './ReadingSample'
import { useReadingSample } from './useReadingSample'

/** The editor; `saved` is called with the dataset as read the new way. */
export function DatasetReadingEditor({ dataset, saved }: { dataset: DatasetEntry; saved(entry: DatasetEntry): void }) {
  const [format, setFormat] = useState<DatasetFormat>(dataset.reading?.format ?? 'auto')
  const [textSplit, setTextSplit] = useState<TextSplit>(dataset.reading?.textSplit ?? 'auto')
  const [csvHeader, setCsvHeader] = useState<CsvHeader>(dataset.reading?.csvHeader ?? 'auto')
  const [pairs, setPairs] = useState<ColumnPair[]>(columnPairs(dataset.reading?.columns ?? {}))
  const [touched, setTouched] = useState(dataset.reading !== undefined)
  const [error, setError] = useState<string | null>(null)
  const [saving, setSaving] = useState(false)
  const { sample, error: sampleError } = useReadingSample(dataset.path, csvHeader)
  const suggestion = sample?.suggestion ?? null
  useEffect(() => {
    // The suggestion fills an untouched editor; what the user chose is never replaced.
    if (touched || !suggestion) return
    setFormat(suggestion.format)
    setPairs(columnPairs(suggestion.columns))
  }, [suggestion, touched])
  const csv = dataset.fileName.toLowerCase().endsWith('.csv')
  const save = async (): Promise<void> => {
    const { reading, error: problem } = readingOf(format, pairs, textSplit, csvHeader)
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
      {dataset.unread && (
        <p className="field-hint warning" data-testid="reading-unread" role="status">
          Tunedeck could not tell how to read {dataset.fileName}: choose its format and which column holds each field, then “Read it this
          way”. ({dataset.unread})
        </p>
      )}
      {csv && (
        <label className="field">
          <span className="field-label">Header row</span>
          <select
            data-testid="reading-csv-header"
            value={csvHeader}
            onChange={(event) => setCsvHeader(csvHeaders.find((value) => value === event.target.value) ?? 'auto')}
          >
            {csvHeaders.map((value) => (
              <option key={value} value={value}>
                {csvHeaderLabels[value]}
              </option>
            ))}
          </select>
        </label>
      )}
      {csv && csvHeader === 'auto' && sample && namedByPosition(sample.columns) && (
        <p className="muted small" data-testid="reading-first-row-data">
          The first row looks like data, not column names: it is read as a row, and the columns are named column_1 to column_
          {sample.columns.length}. Choose “Yes” above if it names the columns.
        </p>
      )}
      {sample && <ReadingSample sample={sample} />}
      {sampleError && <p className="error-text small">{sampleError}</p>}
      {suggestion && !touched && (
        <p className="muted small" data-testid="reading-suggested">
          Suggested from the column names and values; check it before reading the file this way.
        </p>
      )}
      <label className="field">
        <span className="field-label">Format</span>
        <select
          data-testid="reading-format"
          value={format}
          onChange={(event) => {
            setTouched(true)
            setFormat(datasetFormats.find((value) => value === event.target.value) ?? 'auto')
          }}
        >
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
          <select
            data-testid="reading-text-split"
            value={textSplit}
            onChange={(event) => setTextSplit(textSplits.find((value) => value === event.target.value) ?? 'auto')}
          >
            {textSplits.map((value) => (
              <option key={value} value={value}>
                {textSplitLabels[value]}
              </option>
            ))}
          </select>
        </label>
      )}
      <ColumnMapping
        pairs={pairs}
        change={(next) => {
          setTouched(true)
          setPairs(next)
        }}
        fileColumns={sample?.columns ?? []}
      />
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
