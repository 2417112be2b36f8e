/**
 * What the Models page and the new-job picker show, computed from the library's data:
 * parameter counts, download progress lines, fit labels, and the value a model puts in model.path.
 */
import type { DownloadProgress, ModelFit, ModelSummary } from '@shared/models'
import { formatBytes } from './metrics'

/** 1.5B, 360M, 201K. */
export function formatParameters(count: number | null): string {
  if (count === null) return 'unknown'
  if (count >= 1e9) return `${(count / 1e9).toFixed(count >= 1e10 ? 0 : 1)}B`
  if (count >= 1e6) return `${Math.round(count / 1e6)}M`
  if (count >= 1e3) return `${Math.round(count / 1e3)}K`
  return String(count)
}

/** "4 min 05 s", "12 s", "1 h 03 min". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—'
  const whole = Math.max(0, Math.round(seconds))
  if (whole < 60) return `${whole} s`
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`
  return `${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')} min`
}

/** "312 MB of 988 MB · 24.1 MB/s · 28 s left" for a download in progress, else its state. */
export function downloadLine(progress: DownloadProgress): string {
  switch (progress.state) {
    case 'starting':
      return 'Starting…'
    case 'done':
      return `Downloaded ${formatBytes(progress.totalBytes)}`
    case 'cancelled':
      return `Cancelled at ${formatBytes(progress.doneBytes)} of ${formatBytes(progress.totalBytes)}; downloading again continues from there`
    case 'failed':
      return progress.error?.message ?? 'The download failed'
    default:
      return `${formatBytes(progress.doneBytes)} of ${formatBytes(progress.totalBytes)} · ${formatBytes(progress.bytesPerSecond)}/s · ${formatDuration(progress.secondsLeft)} left`
  }
}

/** The value the new-job form puts in model.path: the hub id for a cached hub model, else the folder. */
export function modelPathValue(model: ModelSummary): string {
  return model.hubId ?? model.path
}

const verdictWords = { fits: 'fits', tight: 'tight', no: 'does not fit' } as const

/** "LoRA 6.2 GB: fits" or, with no GPU, "LoRA 6.2 GB (no GPU to compare)". */
export function fitLabel(method: 'lora' | 'qlora', fit: ModelFit): string {
  const entry = fit[method]
  const name = method === 'lora' ? 'LoRA' : 'QLoRA'
  const size = formatBytes(entry.estimatedMb * 1024 * 1024)
  if (entry.verdict === null) return `${name} ${size} (no GPU to compare)`
  const sharded = entry.fsdpGpus ? `; needs FSDP across ${entry.fsdpGpus} GPUs` : ''
  const advice = entry.verdict !== 'fits' && entry.suggestion ? `; fits with ${entry.suggestion}` : sharded
  return `${name} ${size} of ${formatBytes((fit.freeMb ?? 0) * 1024 * 1024)} free: ${verdictWords[entry.verdict]}${advice}`
}

/**
 * The picker's label for a model: name, size, and, when its fit at the chosen preset's settings
 * is known, whether it fits with the method the preset uses (QLoRA for a 4-bit preset).
 */
export function pickerLabel(model: ModelSummary, fit: ModelFit | null | undefined, quantized: boolean): string {
  const base = `${model.name} · ${formatParameters(model.parameters)} · ${formatBytes(model.bytes)}`
  const verdict = fit?.[quantized ? 'qlora' : 'lora'].verdict
  return verdict ? `${base} · ${verdictWords[verdict]}${quantized ? ' (QLoRA)' : ''}` : base
}
