/** What every loss chart shares: drawn without animation from {x, y} points, on linear axes in the dark theme. */
import type { ChartOptions } from 'chart.js'

export const chartColours = { grid: 'rgba(255,255,255,0.06)', ticks: '#8b93a7' } as const

/** Line-chart options with the x axis titled `xTitle` and the y axis "loss". */
export function lossChartOptions(xTitle: string, wholeSteps: boolean): ChartOptions<'line'> {
  const { grid, ticks } = chartColours
  return {
    animation: false,
    parsing: false,
    normalized: true,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: 'nearest', axis: 'x', intersect: false },
    scales: {
      x: { type: 'linear', title: { display: true, text: xTitle, color: ticks }, grid: { color: grid }, ticks: { color: ticks, ...(wholeSteps ? { precision: 0 } : {}) } },
      y: { type: 'linear', title: { display: true, text: 'loss', color: ticks }, grid: { color: grid }, ticks: { color: ticks } },
    },
  }
}
