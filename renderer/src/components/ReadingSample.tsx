/**
 * A file's first rows under its own column names, as the trainer read them: what the user maps
 * in the Read as… editor (for a file whose format is unknown; else its column names alone).
 */
import type { DatasetPreview } from '@shared/datasets'
import { sampleText } from './useReadingSample'

export function ReadingSample({ sample }: { sample: DatasetPreview }) {
  if (sample.columns.length === 0) return null
  if (sample.sample.length === 0) {
    return (
      <p className="muted small" data-testid="reading-columns">
        Its columns: {sample.columns.join(', ')}
      </p>
    )
  }
  return (
    <table className="reading-sample" data-testid="reading-sample">
      <caption className="muted small">The file's first rows</caption>
      <thead>
        <tr>
          {sample.columns.map((column) => (
            <th key={column} className="mono">
              {column}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {sample.sample.map((row, index) => (
          <tr key={index}>
            {sample.columns.map((column) => (
              <td key={column} title={sampleText(row[column])}>
                {sampleText(row[column])}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  )
}
