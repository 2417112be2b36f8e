/**
 * Tokens per example (or per document, for plain text) as a bar chart with its axes: the
 * x axis in tokens, the y axis in examples, a legend, and a line at the maximum sequence
 * length, so what training cuts is visible at a glance.
 */
import type { TokenPreview } from '@shared/datasets'
import { plural } from '../logic/datasetPreview'

/** The histogram of one preview; `unit` is "example" or "document". */
export function TokenHistogram({
  histogram,
  maxSeqLength,
  unit,
}: {
  histogram: TokenPreview['histogram']
  maxSeqLength: number
  unit: string
}) {
  const tallest = Math.max(1, ...histogram.map((bin) => bin.count))
  const top = histogram.at(-1)?.end ?? 1
  // Where the maximum length falls along the x axis, as a share of the axis.
  const limit = Math.min(100, (maxSeqLength / top) * 100)
  return (
    <figure className="token-chart" data-testid="token-histogram" aria-label={`Tokens per ${unit}`}>
      <div className="token-chart-body">
        <div className="token-axis-y small muted" data-testid="histogram-y-axis">
          <span>{tallest}</span>
          <span className="token-axis-name">{unit}s</span>
          <span>0</span>
        </div>
        <div className="token-plot">
          <div className="token-histogram">
            {histogram.map((bin) => (
              <div key={bin.start} className="token-bin" title={`${bin.start}–${bin.end - 1} tokens: ${plural(bin.count, unit)}`}>
                <div
                  className={`token-bar${bin.end > maxSeqLength ? ' over' : ''}`}
                  style={{ height: `${(bin.count / tallest) * 100}%` }}
                />
              </div>
            ))}
            <div
              className="token-limit"
              data-testid="histogram-max-length"
              style={{ left: `${limit}%` }}
              title={`maximum length: ${maxSeqLength} tokens`}
            />
          </div>
          <div className="token-axis-x small muted" data-testid="histogram-x-axis">
            <span>0</span>
            <span className="token-axis-name">tokens per {unit}</span>
            <span>{top}</span>
          </div>
        </div>
      </div>
      <figcaption className="token-legend small muted" data-testid="histogram-legend">
        <span>
          <span className="swatch" /> {unit}s by length
        </span>
        <span>
          <span className="swatch over" /> longer than the maximum length
        </span>
        <span>
          <span className="swatch limit" /> maximum length ({maxSeqLength} tokens)
        </span>
      </figcaption>
    </figure>
  )
}
