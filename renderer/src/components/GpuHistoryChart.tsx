/**
 * The GPU readings stored with the job (jobs.gpu_history), drawn under the
 * loss on the same step axis: each bucket's peak, so short spikes stay
 * visible however long the job ran. Refreshed every few seconds while the job
 * is live; a finished job shows what was stored. Says nothing where there is
 * no NVIDIA GPU: the GPU card says that once.
 */
import { useEffect, useRef, useState } from 'react'
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js'
import type { GpuHistory } from '@shared/gpuHistory'
import type { MetricPoint } from '@shared/jobs'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { gpuLines } from '../logic/gpuHistory'
import { baseLineOptions, chartColours, linearAxis } from './chartStyle'

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Legend)

const colours = ['#6ee7b7', '#fbbf24', '#f87171', '#a78bfa', '#38bdf8', '#f472b6', '#facc15', '#94a3b8']
const refreshMs = 5000

/** Props: the job, whether it is live (refresh) and its loss points (the step axis). */
export function GpuHistoryChart({
  jobId,
  live,
  points,
  totalSteps,
}: {
  jobId: string
  live: boolean
  points: readonly MetricPoint[]
  totalSteps: number
}) {
  const [history, setHistory] = useState<GpuHistory | null>(null)
  const [error, setError] = useState<string | null>(null)
  const canvas = useRef<HTMLCanvasElement>(null)
  const chart = useRef<Chart<'line'> | null>(null)

  useEffect(() => {
    let cancelled = false
    const load = () =>
      getClient()
        .request('jobs.gpu_history', { jobId })
        .then((loaded) => !cancelled && (setHistory(loaded), setError(null)))
        .catch((failure: unknown) => !cancelled && setError(`Could not load the GPU readings: ${errorMessage(failure)}`))
    void load()
    const timer = live ? setInterval(() => void load(), refreshMs) : undefined
    return () => {
      cancelled = true
      clearInterval(timer)
    }
  }, [jobId, live])

  const lines = history ? gpuLines(history, points) : []
  const hasLines = lines.length > 0

  useEffect(() => {
    if (!canvas.current || !hasLines) return
    chart.current = new Chart(canvas.current, {
      type: 'line',
      data: { datasets: [] },
      options: {
        ...baseLineOptions,
        plugins: { legend: { labels: { color: chartColours.ticks, boxWidth: 10 } } },
        scales: {
          x: linearAxis('step'),
          left: { ...linearAxis('% · °C'), position: 'left', min: 0 },
          right: { ...linearAxis('W · GiB'), position: 'right', min: 0, grid: { display: false } },
        },
      },
    })
    return () => {
      chart.current?.destroy()
      chart.current = null
    }
  }, [hasLines])

  useEffect(() => {
    const instance = chart.current
    if (!instance) return
    instance.data.datasets = lines.map((line, index) => ({
      label: line.label,
      data: line.points,
      yAxisID: line.axis,
      borderColor: colours[index % colours.length],
      backgroundColor: colours[index % colours.length],
      borderWidth: 1.5,
      pointRadius: 0,
    }))
    const x = instance.options.scales?.x
    if (x) x.max = totalSteps > 0 ? totalSteps : undefined
    instance.update('none')
  })

  if (error) return <p className="error-text">{error}</p>
  if (!history || history.gpus.length === 0) return null
  return (
    <section className="card chart-card" data-testid="gpu-history">
      <h2>GPU over the run</h2>
      {hasLines ? (
        <div className="chart">
          <canvas
            ref={canvas}
            role="img"
            aria-label={`GPU readings by step, ${history.gpus.map((gpu) => `GPU ${gpu.index}: ${gpu.buckets.length} buckets`).join(', ')}`}
          />
        </div>
      ) : (
        <p className="muted">The GPU readings appear here after the first training step.</p>
      )}
    </section>
  )
}
