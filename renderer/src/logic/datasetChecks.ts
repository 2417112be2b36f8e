/**
 * What the form learns from the dataset preview before Start: why the
 * dataset cannot train (so Start is refused with the reason beside the
 * field), and which method a dataset's shape fits when it is not the chosen one.
 */
import type { TokenPreview } from '@shared/datasets'
import type { Preset } from '@shared/jobs'
import { settingInfo } from './settingFields'
import type { PreviewState } from './datasetPreview'

// The form and the host read one rule: which method a dataset's format fits (electron/shared/methods.ts).
export { methodForFormat } from '@shared/methods'

/**
 * Why the previewed dataset cannot train, or null when it can, is not read
 * yet, or is missing (the host names a missing path beside the field itself,
 * with the other fields' problems). Bad rows are not refused: with bad rows
 * "fail" the preview already says where the job would stop.
 */
export function datasetRefusal(state: PreviewState): string | null {
  if (state.status !== 'done') return null
  const { preview } = state
  if (!preview.ok) return preview.error ?? `${preview.path} cannot be read.`
  if (preview.usable === 0) {
    const first = preview.errors[0]?.message.replace(/\.$/, '')
    return `${preview.path} has no usable rows (${preview.rows} read)${first ? `; the first problem: ${first}` : ''}. Fix the file or the column mapping.`
  }
  return null
}

/** The training settings the step count depends on. */
export interface StepSettings {
  batchSize: number
  gradientAccumulation: number
  epochs: number
  maxSteps: number | null
  packing: boolean
  validationSplit: number
}

/**
 * Optimizer steps the job will take, counted as the trainer does
 * (schedule.total_steps): rows after packing (or the text's blocks), in
 * batches and accumulation, times the epochs. With a validation split the
 * held-out share is taken from the rows (the trainer holds out records before
 * packing), so the figure is then an estimate.
 */
export function estimateSteps(tokens: TokenPreview, settings: StepSettings): number {
  if (settings.maxSteps !== null) return settings.maxSteps
  const rows = settings.packing ? tokens.packedRows : tokens.trainable
  const held = settings.validationSplit > 0 && rows >= 2 ? Math.min(rows - 1, Math.max(1, Math.round(rows * settings.validationSplit))) : 0
  const perEpoch = Math.ceil(Math.ceil((rows - held) / settings.batchSize) / settings.gradientAccumulation)
  return Math.max(1, Math.ceil(perEpoch * settings.epochs - 1e-9))
}

function valueAt(source: unknown, dotted: string): unknown {
  let node = source
  for (const key of dotted.split('.')) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined
  return node
}

/**
 * A setting as the job will get it: the form's input, else `below`'s value (the layers under the
 * user's: settingsThatRun, which knows the self-test's own settings), else the preset's, else the default.
 */
export function effective(input: unknown, preset: Preset | undefined, dotted: string, below?: (dotted: string) => unknown): unknown {
  return valueAt(input, dotted) ?? (below ? below(dotted) : (valueAt(preset, dotted) ?? settingInfo(dotted).default))
}

/** The step settings of a checked form input (jobs.create's shape) and its preset (or `below`, as for effective). */
export function stepSettings(input: unknown, preset: Preset | undefined, below?: (dotted: string) => unknown): StepSettings {
  const value = (dotted: string): unknown => effective(input, preset, dotted, below)
  const number = (dotted: string): number => Number(value(dotted))
  const maxSteps = value('training.maxSteps')
  return {
    batchSize: number('training.batchSize'),
    gradientAccumulation: number('training.gradientAccumulation'),
    epochs: number('training.epochs'),
    maxSteps: typeof maxSteps === 'number' ? maxSteps : null,
    packing: value('training.packing') !== false,
    validationSplit: number('dataset.validationSplit'),
  }
}
