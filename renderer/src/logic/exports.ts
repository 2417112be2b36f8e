/** How the Export section words an export's progress. */
import type { ExportProgress } from '@shared/exports'

const phaseLabels: Record<ExportProgress['phase'], string> = {
  preparing: 'Preparing',
  hashing: 'Hashing files',
  zipping: 'Writing the zip',
  verifying: 'Checking the zip against its manifest',
  uploading: 'Uploading to the Hub',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
}

/** 0..1 for the progress bar: preparing and hashing count as the first tenth, zipping (or uploading) the rest. */
export function exportFraction(progress: ExportProgress | null): number {
  if (!progress) return 0
  if (progress.phase === 'done' || progress.phase === 'verifying') return 1
  if ((progress.phase === 'zipping' || progress.phase === 'uploading') && progress.bytesTotal > 0)
    return 0.1 + 0.9 * Math.min(1, progress.bytesDone / progress.bytesTotal)
  return progress.phase === 'hashing' ? 0.1 : 0.05
}

/** "Writing the zip" plus the Python step's note, e.g. "Preparing: writing the GGUF adapter" or "Uploading to the Hub: sent README.md". */
export function exportPhaseText(progress: ExportProgress | null): string {
  if (!progress) return ''
  const label = phaseLabels[progress.phase]
  return progress.message && (progress.phase === 'preparing' || progress.phase === 'uploading') ? `${label}: ${progress.message}` : label
}
