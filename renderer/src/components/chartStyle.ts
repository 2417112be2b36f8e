/** What every loss chart shares: drawn without animation from {x, y} points, on linear axes in the dark theme. */
import type { ChartOptions } from 'chart.js'

export const chartColours = { grid: 'rgba(255,255,255,0.06)', ticks: '#8b93a7' } as const

/** What every line chart draws with: no animation, {x, y} points as given, the nearest point on hover. */
export const baseLineOptions = {
  animation: false,
  parsing: false,
  normalized: true,
  responsive: true,
  maintainAspectRatio: false,
  interaction: { mode: 'nearest', axis: 'x', intersect: false },
} as const satisfies ChartOptions<'line'>

/** A linear axis titled `title`, in the theme's colours. */
export function linearAxis(title: string, wholeNumbers = false) {
  const { grid, ticks } = chartColours
  return {
    type: 'linear',
    title: { display: true, text: title, color: ticks },
    grid: { color: grid },
    ticks: { color: ticks, ...(wholeNumbers ? { precision: 0 } : {}) },
  } as const
}

/** Line-chart options with the x axis titled `xTitle` and the y axis "loss". */
export function lossChartOptions(xTitle: string, wholeSteps: boolean): ChartOptions<'line'> {
  return { ...baseLineOptions, scales: { x: linearAxis(xTitle, wholeSteps), y: linearAxis('loss') } }
}
