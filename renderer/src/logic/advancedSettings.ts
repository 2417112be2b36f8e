/**
 * The parts of the new-job form's Advanced section that are more than a
 * number: the column mapping, the LoRA target modules, and whether 4-bit
 * loading can work on this machine.
 */
import { datasetFields } from '@shared/datasets'
import type { LoraConfig } from '@shared/config'
import type { Preset } from '@shared/jobs'
import type { GpuSample, SystemInfo } from '@shared/system'

/** One row of the column mapping as typed: our field name and the file's column name. */
export interface ColumnPair {
  field: string
  column: string
}

/**
 * The mapping to send, or the message to show beside it. Rows left wholly
 * empty are ignored; a row mapping a field onto its own name changes nothing
 * but is kept so the user sees what they typed was taken.
 */
export function checkColumns(pairs: readonly ColumnPair[]): { value?: Record<string, string>; error?: string } {
  const mapping: Record<string, string> = {}
  for (const pair of pairs) {
    const field = pair.field.trim()
    const column = pair.column.trim()
    if (field === '' && column === '') continue
    if (!(datasetFields as readonly string[]).includes(field))
      return { error: `Column mapping: choose one of Tunedeck's fields (${datasetFields.join(', ')}) for the column "${column}".` }
    if (column === '') return { error: `Column mapping: name the file's column that holds "${field}".` }
    if (field in mapping) return { error: `Column mapping: "${field}" is mapped twice; keep one row for it.` }
    mapping[field] = column
  }
  return Object.keys(mapping).length > 0 ? { value: mapping } : {}
}

/** The complete, valid rows of a mapping, for the preview while the user is still typing. */
export function previewColumns(pairs: readonly ColumnPair[]): Record<string, string> {
  const complete = pairs.filter((pair) => pair.field.trim() !== '' && pair.column.trim() !== '')
  return checkColumns(complete).value ?? {}
}

/** The rows a mapping (from a job's config) shows in the form. */
export function columnPairs(columns: Readonly<Record<string, string>>): ColumnPair[] {
  return Object.entries(columns).map(([field, column]) => ({ field, column }))
}

/** Module names as PEFT matches them: letters, digits, _, . and -. */
const moduleName = /^[A-Za-z0-9_.-]+$/

/** "all-linear", or a comma-separated list of module names; empty leaves the preset's or the default. */
export function checkTargetModules(text: string): { value?: LoraConfig['targetModules']; error?: string } {
  const trimmed = text.trim()
  if (trimmed === '') return {}
  if (trimmed === 'all-linear') return { value: 'all-linear' }
  const names = trimmed
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
  const bad = names.find((name) => !moduleName.test(name))
  if (names.length === 0 || bad !== undefined) {
    return {
      error: `LoRA target modules must be "all-linear" or module names separated by commas, such as q_proj, v_proj${bad ? `; "${bad}" is not a module name` : ''}.`,
    }
  }
  return { value: names }
}

/** How the form shows a target-modules setting. */
export function targetModulesText(value: LoraConfig['targetModules'] | undefined): string | undefined {
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : value.join(', ')
}

/**
 * True when 4-bit loading can work here: the telemetry sees an NVIDIA GPU and
 * the trainer's torch (when known) was built with CUDA.
 */
export function cudaPresent(info: SystemInfo | null, gpu: GpuSample | null): boolean {
  const sample = gpu ?? info?.gpu ?? null
  if (!sample?.available || sample.gpus.length === 0) return false
  return !(info?.python.found && !info.python.cudaAvailable)
}

/** The note beside the 4-bit box when the chosen preset asks for 4-bit on a machine without CUDA. */
export function quantizationNote(preset: Preset | undefined, cuda: boolean): string | null {
  if (preset?.model?.quantization !== '4bit' || cuda) return null
  return `${preset.name} loads the model in 4-bit, which needs an NVIDIA GPU with CUDA; none was found, so the job trains without quantization.`
}
