/** A thin horizontal bar for 0..1 progress. */

/** `value` is clamped to 0..1; `label` is read by screen readers. */
export function ProgressBar({
  value,
  label,
  tone = 'accent',
}: {
  value: number
  label: string
  tone?: 'accent' | 'warn' | 'danger' | 'ok'
}) {
  const percent = Math.round(Math.min(1, Math.max(0, Number.isFinite(value) ? value : 0)) * 1000) / 10
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
      <div className={`progress-fill progress-${tone}`} style={{ width: `${percent}%` }} />
    </div>
  )
}
