/**
 * The live loss chart. One chart.js instance per mount, updated in place
 * without animation: new points are pushed onto the dataset when the history
 * only grew, and the dataset is rebuilt only when earlier points changed.
 * A long job draws min-max decimated (each pixel column keeps its lowest and
 * highest loss, so every spike stays visible), and however fast points
 * arrive the chart redraws at most once a frame. `data-drawn` says how many
 * points the last draw had and `data-drawn-step` the step of its last one
 * (bench/ui waits on them).
 */
import { useEffect, useRef } from 'react'
import { Chart, Decimation, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartConfiguration } from 'chart.js'
import { lossChartOptions } from './chartStyle'
import type { MetricPoint } from '@shared/jobs'

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Decimation)

type XY = { x: number; y: number }

function configuration(): ChartConfiguration<'line', XY[]> {
  return {
    type: 'line',
    data: {
      datasets: [
        {
          label: 'loss',
          data: [],
          borderColor: '#6ea8fe',
          backgroundColor: '#6ea8fe',
          borderWidth: 2,
          pointRadius: 0,
          pointHitRadius: 6,
          tension: 0.2,
        },
      ],
    },
    options: {
      ...lossChartOptions('step', true),
      plugins: {
        tooltip: { callbacks: { title: (items) => `step ${items[0]?.parsed.x ?? ''}` } },
        // Only past a few points per pixel; min-max keeps each column's extremes, so no spike is lost.
        decimation: { enabled: true, algorithm: 'min-max' },
      },
    },
  }
}

/** Props: the job's points sorted by step, and the planned number of steps for the x axis. */
export function LossChart({ points, totalSteps }: { points: readonly MetricPoint[]; totalSteps: number }) {
  const canvas = useRef<HTMLCanvasElement>(null)
  const chart = useRef<Chart<'line', XY[]> | null>(null)
  const shown = useRef<readonly MetricPoint[]>([])
  const frame = useRef<number | null>(null)
  // Every point, ours: the decimation plugin replaces what dataset.data returns with its decimated copy.
  const series = useRef<XY[]>([])

  useEffect(() => {
    if (!canvas.current) return
    chart.current = new Chart(canvas.current, configuration())
    shown.current = []
    series.current = []
    return () => {
      if (frame.current !== null) cancelAnimationFrame(frame.current)
      frame.current = null
      chart.current?.destroy()
      chart.current = null
    }
  }, [])

  useEffect(() => {
    const instance = chart.current
    const dataset = instance?.data.datasets[0]
    if (!instance || !dataset) return
    const previous = shown.current
    const grew =
      previous.length <= points.length && (previous.length === 0 || points[previous.length - 1] === previous[previous.length - 1])
    const fresh = grew ? points.slice(previous.length) : points
    if (!grew) series.current = []
    for (const point of fresh) series.current.push({ x: point.step, y: point.loss })
    shown.current = points
    const xScale = instance.options.scales?.x
    if (xScale) xScale.max = totalSteps > 0 ? totalSteps : undefined
    frame.current ??= requestAnimationFrame(() => {
      frame.current = null
      dataset.data = series.current
      instance.update('none')
      instance.canvas.parentElement?.setAttribute('data-drawn', String(series.current.length))
      instance.canvas.parentElement?.setAttribute('data-drawn-step', String(series.current.at(-1)?.x ?? 0))
    })
  }, [points, totalSteps])

  return (
    <div className="chart" data-testid="loss-chart" data-points={points.length}>
      <canvas ref={canvas} aria-label={`Loss by step, ${points.length} points`} role="img" />
      {points.length === 0 && <div className="chart-empty">The loss appears here after the first training step.</div>}
    </div>
  )
}
