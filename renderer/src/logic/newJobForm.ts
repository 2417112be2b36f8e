/**
 * The new-job form's values, and their checks: the form's values are put in
 * jobs.create's own shape (settings keyed as config.json) and parsed with the
 * same schema the host parses them with, so each field's range is written
 * once (electron/shared/config.ts) and each problem is shown beside its field,
 * named by its label. What the host refuses comes back keyed the same way.
 * Fields left empty take the preset's value or the default, so only what the
 * user chose is sent.
 */
import type { DatasetFormat, Method } from '@shared/methods'
import { fieldErrorsOf, validationError } from '@shared/errors'
import { newJobInputSchema, type Checkpoint, type Job, type NewJobInput, type Preset } from '@shared/jobs'
import { checkColumns, checkTargetModules, columnPairs, targetModulesText, type ColumnPair } from './advancedSettings'
import { settingFields, settingInfo, type SettingField } from './settingFields'
import { checkpointOf } from './rerun'
import { mixInput, mixRowsOf, typedGpus, typedWeight, type MixRow } from './datasetMix'

/** A checkpoint the new job starts from, with what the form shows about it. */
export interface InitChoice {
  jobId: string
  checkpoint: string
  /** The source job's name, for "Starting from <name> / <checkpoint>". */
  jobName: string
  /** Continue the checkpoint's optimizer state too (moments and step counts), not a fresh one. */
  optimizer: boolean
}

/** A setting as the form holds it: typed text, a choice, a switch (true/false), or a tristate ('', 'on', 'off'). */
export type SettingValue = string | boolean

/** The form as typed: text fields stay strings so partial input is kept. */
export interface NewJobFormValues {
  name: string
  modelKind: 'selftest' | 'path'
  modelPath: string
  datasetPath: string
  datasetFormat: DatasetFormat
  method: Method
  quantization: 'none' | '4bit'
  /** Set when the job starts from another job's checkpoint: model and LoRA shape are locked. */
  initFrom: InitChoice | null
  preset: string
  /** The settings of settingFields, by config path ('lora.rank'). */
  settings: Record<string, SettingValue>
  /** "all-linear" or module names separated by commas. */
  targetModules: string
  /** Our field name -> the file's column name, one row each. */
  columns: ColumnPair[]
  /** The first dataset's weight in a mix, as typed (empty: 1, all of its rows). */
  datasetWeight: string
  /** More datasets mixed with the first (dataset.mix). */
  mix: MixRow[]
  /** training.gpus as typed: empty (all), "all", a count or indices "0, 1". */
  gpus: string
}

/**
 * Field keys as the host names them in AppError.data.fields: config paths
 * ('lora.rank', 'dataset.path'), plus the job's name, preset and checkpoint.
 */
export type FieldKey = string

/** The form's fields; a host key below one of them (dataset.columns.output) is shown beside it. */
const formFields: readonly FieldKey[] = [
  'name',
  'model.path',
  'dataset.path',
  'dataset.format',
  'method',
  'model.quantization',
  'initFrom',
  'preset',
  'lora.targetModules',
  'dataset.columns',
  'dataset.weight',
  'dataset.mix',
  'training.gpus',
  ...settingFields.map((field) => field.path),
]

function isSwitch(field: SettingField): boolean {
  return settingInfo(field.path).kind === 'boolean' && field.tristate !== true
}

/** How the form shows a value from a preset or a job's config. */
function shownValue(field: SettingField, value: unknown): SettingValue {
  if (typeof value === 'boolean') return isSwitch(field) ? value : value ? 'on' : 'off'
  return String(value)
}

/** The settings of an untouched form: empty text (the placeholder shows the default), a choice's or switch's default. */
function defaultSettings(): Record<string, SettingValue> {
  const settings: Record<string, SettingValue> = {}
  for (const field of settingFields) {
    const info = settingInfo(field.path)
    settings[field.path] = isSwitch(field) ? info.default === true : info.kind === 'choice' ? String(info.default) : ''
  }
  return settings
}

export const emptyForm: NewJobFormValues = {
  name: '',
  modelKind: 'selftest',
  modelPath: '',
  datasetPath: '',
  datasetFormat: 'auto',
  method: 'sft',
  quantization: 'none',
  initFrom: null,
  preset: '',
  settings: defaultSettings(),
  targetModules: '',
  columns: [],
  datasetWeight: '',
  mix: [],
  gpus: '',
}

/** A setting's value to send, or undefined to leave the preset's or the default. */
function sentValue(field: SettingField, values: NewJobFormValues): unknown {
  const value = values.settings[field.path]
  const info = settingInfo(field.path)
  // A switch or choice is sent when it is not the default, and also while a preset is chosen, so unticking beats the preset.
  if (isSwitch(field) || info.kind === 'choice')
    return value !== shownValue(field, info.default) || values.preset !== '' ? value : undefined
  if (field.tristate) return value === '' ? undefined : value === 'on'
  const text = String(value ?? '').trim()
  if (text === '') return undefined
  // Not a number: sent as typed, so the schema's message says what it expects and shows what it got.
  return Number.isFinite(Number(text)) ? Number(text) : text
}

/** Sets `value` at a dotted path of `target`, making the sections on the way. */
function setAt(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.')
  const last = keys.pop()!
  let node = target
  for (const key of keys) node = (node[key] ??= {}) as Record<string, unknown>
  node[last] = value
}

/** The form's values in jobs.create's shape, not yet checked. */
function formInput(values: NewJobFormValues, targetModules: unknown, columns: unknown): Record<string, unknown> {
  const selftest = values.modelKind === 'selftest'
  const locked = values.initFrom !== null
  const input: Record<string, unknown> = { model: selftest ? { selftest: true } : {} }
  const modelPath = values.modelPath.trim()
  if (!selftest && modelPath !== '') setAt(input, 'model.path', modelPath)
  // With a preset chosen, 4-bit is sent either way: the preset may ask for it where the form could not.
  if (values.quantization !== 'none' || values.preset !== '') setAt(input, 'model.quantization', values.quantization)
  if (values.name.trim()) input.name = values.name.trim()
  if (values.method !== 'sft') input.method = values.method
  if (values.preset) input.preset = values.preset
  if (values.initFrom)
    input.initFrom = { jobId: values.initFrom.jobId, checkpoint: values.initFrom.checkpoint, optimizer: values.initFrom.optimizer }
  // The self-test reads its bundled dataset (its own format and columns) unless a dataset is chosen.
  const ownDataset = !selftest || values.datasetPath.trim() !== ''
  if (values.datasetPath.trim() !== '') setAt(input, 'dataset.path', values.datasetPath.trim())
  if (ownDataset && values.datasetFormat !== 'auto') setAt(input, 'dataset.format', values.datasetFormat)
  if (ownDataset && columns !== undefined) setAt(input, 'dataset.columns', columns)
  const mix = mixInput(values.mix)
  if (mix.length > 0) setAt(input, 'dataset.mix', mix)
  const weight = typedWeight(values.datasetWeight)
  if (mix.length > 0 && weight !== undefined) setAt(input, 'dataset.weight', weight)
  const gpus = typedGpus(values.gpus)
  if (gpus !== undefined) setAt(input, 'training.gpus', gpus)
  // The checkpoint's LoRA shape wins on the host; the locked fields only show it.
  if (!locked && targetModules !== undefined) setAt(input, 'lora.targetModules', targetModules)
  for (const field of settingFields) {
    if ((locked && field.fromCheckpoint) || (field.method !== undefined && field.method !== values.method)) continue
    const value = sentValue(field, values)
    if (value !== undefined) setAt(input, field.path, value)
  }
  return input
}

/** Either the input to send, or the messages to show beside each field (and those for no field of the form, at the top). */
export type FormCheck = { ok: true; input: NewJobInput } | { ok: false; errors: Partial<Record<FieldKey, string>>; general: string[] }

/** Checks the form with the schema the host uses, so most mistakes never leave the window. */
export function checkNewJobForm(values: NewJobFormValues): FormCheck {
  const errors: Partial<Record<FieldKey, string>> = {}
  const targetModules = checkTargetModules(values.targetModules)
  if (targetModules.error) errors['lora.targetModules'] = targetModules.error
  const columns = values.modelKind === 'path' ? checkColumns(values.columns) : {}
  if (columns.error) errors['dataset.columns'] = columns.error
  const parsed = newJobInputSchema.safeParse(formInput(values, targetModules.value, columns.value), { reportInput: true })
  const placed = parsed.success
    ? { byField: {}, general: [] }
    : placeServerErrors(fieldErrorsOf(validationError(parsed.error.issues, 'New job', newJobInputSchema)))
  for (const [key, message] of Object.entries(placed.byField)) errors[key] ??= message
  if (!parsed.success || Object.keys(errors).length > 0) return { ok: false, errors, general: placed.general }
  return { ok: true, input: parsed.data }
}

/** The form field a host key names: itself, or the form field it is inside of (dataset.columns.output). */
function formFieldOf(key: string): FieldKey | undefined {
  return formFields.filter((field) => key === field || key.startsWith(`${field}.`)).sort((a, b) => b.length - a.length)[0]
}

/**
 * Splits the host's data.fields into messages beside known fields and
 * messages for the top of the form (fields the form does not show).
 */
export function placeServerErrors(fields: Record<string, string>): { byField: Partial<Record<FieldKey, string>>; general: string[] } {
  const byField: Partial<Record<FieldKey, string>> = {}
  const general: string[] = []
  for (const [key, message] of Object.entries(fields)) {
    const field = formFieldOf(key)
    if (field !== undefined && byField[field] === undefined) byField[field] = message
    else if (field === undefined) general.push(message)
  }
  return { byField, general }
}

/** The value at a dotted path of a preset or config, if any. */
function valueAt(source: object, dotted: string): unknown {
  return dotted
    .split('.')
    .reduce<unknown>(
      (node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined),
      source,
    )
}

/**
 * The form filled from a preset, so it shows what will train. Values the
 * preset leaves out are kept, except switches (rsLoRA, DoRA, train on
 * inputs), which go back to their defaults; the LoRA shape of a checkpoint
 * the job starts from is kept. A preset's 4-bit loading is ticked only where
 * `cuda` says it can work.
 */
export function applyPreset(values: NewJobFormValues, preset: Preset | undefined, cuda = false): NewJobFormValues {
  if (!preset) return { ...values, preset: '' }
  const locked = values.initFrom !== null
  const settings = { ...values.settings }
  const defaults = defaultSettings()
  for (const field of settingFields) {
    if (locked && field.fromCheckpoint) continue
    const value = valueAt(preset, field.path)
    if (value !== undefined) settings[field.path] = shownValue(field, value)
    else if (isSwitch(field)) settings[field.path] = defaults[field.path]!
  }
  const wanted = preset.model?.quantization
  const quantization = wanted === undefined ? values.quantization : wanted === '4bit' && cuda ? '4bit' : 'none'
  const targetModules = locked ? values.targetModules : (targetModulesText(preset.lora?.targetModules) ?? values.targetModules)
  return { ...values, preset: preset.id, method: preset.method ?? values.method, quantization, settings, targetModules }
}

/**
 * A form that starts from `checkpoint` of `job`: the same model (the host
 * insists), the same data and method to change if wanted, and the job's
 * LoRA shape shown in the locked fields.
 */
export function formFromCheckpoint(job: Job, checkpoint: Pick<Checkpoint, 'name'>): NewJobFormValues {
  const { config } = job
  const selftest = config.model.selftest
  const settings = defaultSettings()
  for (const field of settingFields) {
    // The checkpoint's LoRA shape, and the same file read the same way.
    if (field.fromCheckpoint || field.path === 'dataset.badRows') settings[field.path] = shownValue(field, valueAt(config, field.path))
  }
  return {
    ...emptyForm,
    modelKind: selftest ? 'selftest' : 'path',
    modelPath: selftest ? '' : config.model.path,
    // The self-test keeps its bundled dataset; a real job offers its own file again.
    datasetPath: selftest ? '' : config.dataset.path,
    datasetFormat: selftest ? 'auto' : config.dataset.format,
    method: config.method,
    quantization: config.model.quantization,
    initFrom: { jobId: job.id, checkpoint: checkpoint.name, jobName: job.name, optimizer: false },
    settings,
    targetModules: targetModulesText(config.lora.targetModules) ?? '',
    columns: selftest ? [] : columnPairs(config.dataset.columns),
  }
}

/**
 * "Change and run again": the form filled with everything `job` ran with (config.json), named
 * as the next run ("<name> (2)"), so the user changes what they want and starts a new job.
 * A job that started from a checkpoint starts from it again, its model and LoRA shape locked.
 */
export function formFromJob(job: Job, name: string): NewJobFormValues {
  const { config } = job
  const selftest = config.model.selftest
  const settings = defaultSettings()
  for (const field of settingFields) {
    const value = valueAt(config, field.path)
    if (value !== undefined && value !== null) settings[field.path] = shownValue(field, value)
  }
  const from = config.initFrom === null ? null : checkpointOf(config.initFrom)
  return {
    ...emptyForm,
    name,
    modelKind: selftest ? 'selftest' : 'path',
    modelPath: selftest ? '' : config.model.path,
    // The self-test's bundled rows are its own default: the field stays empty for them.
    datasetPath: selftest && isBundledSelftest(config.dataset.path) ? '' : config.dataset.path,
    datasetFormat: selftest && isBundledSelftest(config.dataset.path) ? 'auto' : config.dataset.format,
    method: config.method,
    quantization: config.model.quantization,
    initFrom: from ? { ...from, jobName: from.jobId, optimizer: config.initOptimizer } : null,
    settings,
    targetModules: targetModulesText(config.lora.targetModules) ?? '',
    columns: columnPairs(config.dataset.columns),
    datasetWeight: config.dataset.weight === 1 ? '' : String(config.dataset.weight),
    mix: mixRowsOf(config),
    gpus:
      config.training.gpus === 'all'
        ? ''
        : Array.isArray(config.training.gpus)
          ? config.training.gpus.join(', ')
          : String(config.training.gpus),
  }
}

/** The self-test's own dataset (resources/selftest/dataset.jsonl), which a self-test job reads when none is chosen. */
function isBundledSelftest(datasetPath: string): boolean {
  return /[\\/]selftest[\\/]dataset\.jsonl$/.test(datasetPath)
}
