/**
 * Loss curves of several runs on one chart: training loss as a solid line, held-out loss as
 * a dashed line with points, one colour per run. Rebuilt whenever a curve or the axis changes;
 * a comparison is of finished or slow-moving runs, so nothing is appended in place.
 */
import { useEffect, useRef } from 'react'
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartDataset } from 'chart.js'
import type { XY } from '../logic/compare'
import { chartColours, lossChartOptions } from './chartStyle'

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Legend)

/** Colours that stay apart on the dark background, in the order runs are picked. */
export const runColours = ['#6ea8fe', '#f0a35e', '#7ee08f', '#e58bd8', '#f2d46b', '#8be0e0'] as const

export interface CompareLine {
  label: string
  training: XY[]
  heldOut: XY[]
}

function datasets(lines: readonly CompareLine[]): ChartDataset<'line', XY[]>[] {
  return lines.flatMap((line, index) => {
    const colour = runColours[index % runColours.length]!
    const training: ChartDataset<'line', XY[]> = {
      label: line.label,
      data: line.training,
      borderColor: colour,
      backgroundColor: colour,
      borderWidth: 2,
      pointRadius: 0,
      tension: 0.2,
    }
    if (line.heldOut.length === 0) return [training]
    const heldOut: ChartDataset<'line', XY[]> = {
      label: `${line.label} (held out)`,
      data: line.heldOut,
      borderColor: colour,
      backgroundColor: colour,
      borderDash: [6, 4],
      borderWidth: 1.5,
      pointRadius: 3,
    }
    return [training, heldOut]
  })
}

/** Props: one line per run, in the order of the colours, and the x axis title. */
export function CompareChart({ lines, axisTitle }: { lines: readonly CompareLine[]; axisTitle: string }) {
  const canvas = useRef<HTMLCanvasElement>(null)
  const points = lines.reduce((sum, line) => sum + line.training.length, 0)

  useEffect(() => {
    if (!canvas.current) return
    const chart = new Chart<'line', XY[]>(canvas.current, {
      type: 'line',
      data: { datasets: datasets(lines) },
      options: {
        ...lossChartOptions(axisTitle, false),
        plugins: { legend: { labels: { color: chartColours.ticks, boxWidth: 14 } } },
      },
    })
    return () => chart.destroy()
  }, [lines, axisTitle])

  return (
    <div className="chart chart-tall" data-testid="compare-chart" data-lines={lines.length} data-points={points}>
      <canvas ref={canvas} aria-label={`Loss of ${lines.length} runs against ${axisTitle}`} role="img" />
      {points === 0 && <div className="chart-empty">The picked runs have no training steps yet.</div>}
    </div>
  )
}
