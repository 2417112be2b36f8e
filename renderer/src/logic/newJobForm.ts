/**
 * The new-job form's values, client-side checks and the mapping of the
 * host's field errors onto the form. Fields left empty use the host's
 * defaults (or the preset's), so only what the user typed is sent.
 */
import type { DatasetFormat, JobConfig } from '../../../electron/shared/config'
import type { BadRows } from '../../../electron/shared/datasets'
import type { Checkpoint, Job, NewJobInput, Preset } from '../../../electron/shared/jobs'
import { checkColumns, checkTargetModules, columnPairs, targetModulesText, type ColumnPair } from './advancedSettings'

/** A checkpoint the new job starts from, with what the form shows about it. */
export interface InitChoice {
  jobId: string
  checkpoint: string
  /** The source job's name, for "Starting from <name> / <checkpoint>". */
  jobName: string
}

/** The form as typed: every field a string so partial input is kept. */
export interface NewJobFormValues {
  name: string
  modelKind: 'selftest' | 'path'
  modelPath: string
  datasetPath: string
  datasetFormat: DatasetFormat
  method: JobConfig['method']
  quantization: 'none' | '4bit'
  /** Set when the job starts from another job's checkpoint: model and LoRA shape are locked. */
  initFrom: InitChoice | null
  preset: string
  loraRank: string
  loraAlpha: string
  learningRate: string
  epochs: string
  batchSize: string
  maxSeqLength: string
  checkpointEvery: string
  keepCheckpoints: string
  // The Advanced section.
  gradientAccumulation: string
  validationSplit: string
  badRows: BadRows
  /** '' uses the preset's choice or the default (on where the model supports it). */
  packing: '' | 'on' | 'off'
  trainOnInputs: boolean
  loraDropout: string
  /** "all-linear" or module names separated by commas. */
  targetModules: string
  rslora: boolean
  dora: boolean
  /** Shown and sent only for the DPO method. */
  dpoBeta: string
  /** Our field name -> the file's column name, one row each. */
  columns: ColumnPair[]
}

/** Field keys as the host names them in AppError.data.fields. */
export type FieldKey =
  | 'name'
  | 'model.path'
  | 'datasetPath'
  | 'datasetFormat'
  | 'method'
  | 'quantization'
  | 'initFrom'
  | 'preset'
  | 'lora.rank'
  | 'lora.alpha'
  | 'learningRate'
  | 'epochs'
  | 'batchSize'
  | 'maxSeqLength'
  | 'checkpointEvery'
  | 'keepCheckpoints'
  | 'gradientAccumulation'
  | 'validationSplit'
  | 'badRows'
  | 'packing'
  | 'trainOnInputs'
  | 'lora.dropout'
  | 'lora.targetModules'
  | 'lora.rslora'
  | 'lora.dora'
  | 'dpo.beta'
  | 'columns'

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
  loraRank: '',
  loraAlpha: '',
  learningRate: '',
  epochs: '',
  batchSize: '',
  maxSeqLength: '',
  checkpointEvery: '',
  keepCheckpoints: '',
  gradientAccumulation: '',
  validationSplit: '',
  badRows: 'fail',
  packing: '',
  trainOnInputs: false,
  loraDropout: '',
  targetModules: '',
  rslora: false,
  dora: false,
  dpoBeta: '',
  columns: [],
}

interface NumberRule {
  field: FieldKey
  label: string
  integer: boolean
  /** Exclusive lower bound when `above` is set, else inclusive `min`. */
  min?: number
  above?: number
  max: number
}

/** The form's numeric fields (typed as text, checked by numberRules). */
export type NumberKey =
  | 'loraRank'
  | 'loraAlpha'
  | 'learningRate'
  | 'epochs'
  | 'batchSize'
  | 'maxSeqLength'
  | 'checkpointEvery'
  | 'keepCheckpoints'
  | 'gradientAccumulation'
  | 'validationSplit'
  | 'loraDropout'
  | 'dpoBeta'

const numberRules: Record<NumberKey, NumberRule> = {
  loraRank: { field: 'lora.rank', label: 'LoRA rank', integer: true, min: 1, max: 1024 },
  loraAlpha: { field: 'lora.alpha', label: 'LoRA alpha', integer: false, above: 0, max: 4096 },
  learningRate: { field: 'learningRate', label: 'Learning rate', integer: false, above: 0, max: 1 },
  epochs: { field: 'epochs', label: 'Epochs', integer: false, above: 0, max: 100 },
  batchSize: { field: 'batchSize', label: 'Batch size', integer: true, min: 1, max: 1024 },
  maxSeqLength: { field: 'maxSeqLength', label: 'Max sequence length', integer: true, min: 16, max: 131072 },
  checkpointEvery: { field: 'checkpointEvery', label: 'Checkpoint every', integer: true, min: 0, max: 1_000_000 },
  keepCheckpoints: { field: 'keepCheckpoints', label: 'Periodic checkpoints kept', integer: true, min: 1, max: 100 },
  gradientAccumulation: { field: 'gradientAccumulation', label: 'Gradient accumulation', integer: true, min: 1, max: 1024 },
  validationSplit: { field: 'validationSplit', label: 'Validation split', integer: false, min: 0, max: 0.5 },
  loraDropout: { field: 'lora.dropout', label: 'LoRA dropout', integer: false, min: 0, max: 0.9 },
  dpoBeta: { field: 'dpo.beta', label: 'DPO beta', integer: false, above: 0, max: 10 },
}

/** Checks one numeric field; returns the number, undefined when empty, or an error message. */
function checkNumber(text: string, rule: NumberRule): { value?: number; error?: string } {
  const trimmed = text.trim()
  if (trimmed === '') return {}
  const value = Number(trimmed)
  const range = rule.above !== undefined ? `above ${rule.above} and at most ${rule.max}` : `from ${rule.min} to ${rule.max}`
  if (!Number.isFinite(value)) return { error: `${rule.label} must be a number ${range}.` }
  if (rule.integer && !Number.isInteger(value)) return { error: `${rule.label} must be a whole number ${range}.` }
  const tooLow = rule.above !== undefined ? value <= rule.above : value < (rule.min ?? -Infinity)
  if (tooLow || value > rule.max) return { error: `${rule.label} must be ${range}; it is ${trimmed}.` }
  return { value }
}

/** Either the input to send, or the messages to show beside each field. */
export type FormCheck = { ok: true; input: NewJobInput } | { ok: false; errors: Partial<Record<FieldKey, string>> }

/** Validates the form the same way the host will, so most mistakes never leave the window. */
export function checkNewJobForm(values: NewJobFormValues): FormCheck {
  const errors: Partial<Record<FieldKey, string>> = {}
  const numbers: Partial<Record<keyof typeof numberRules, number>> = {}
  for (const key of Object.keys(numberRules) as Array<keyof typeof numberRules>) {
    // DPO beta is hidden (and ignored) for other methods.
    if (key === 'dpoBeta' && values.method !== 'dpo') continue
    const rule = numberRules[key]
    const result = checkNumber(values[key], rule)
    if (result.error) errors[rule.field] = result.error
    else if (result.value !== undefined) numbers[key] = result.value
  }
  if (values.name.trim().length > 120) errors.name = 'Name must be at most 120 characters.'
  if (values.modelKind === 'path') {
    if (values.modelPath.trim() === '') errors['model.path'] = 'Enter a model folder path or a hub id already in the local cache.'
    if (values.datasetPath.trim() === '') errors.datasetPath = 'Enter the path of a dataset file (.jsonl, .json, .csv, .parquet or .txt) or a save_to_disk folder.'
  }
  const targetModules = checkTargetModules(values.targetModules)
  if (targetModules.error) errors['lora.targetModules'] = targetModules.error
  const columns = values.modelKind === 'path' ? checkColumns(values.columns) : {}
  if (columns.error) errors.columns = columns.error
  if (values.initFrom) {
    // The checkpoint's LoRA shape wins on the host; the locked fields only show it.
    delete numbers.loraRank
    delete numbers.loraAlpha
  }
  if ((numbers.loraRank === undefined) !== (numbers.loraAlpha === undefined) && !errors['lora.rank'] && !errors['lora.alpha']) {
    // The contract takes rank and alpha together; fill the missing one with the usual 2:1 ratio.
    if (numbers.loraRank === undefined) numbers.loraRank = Math.max(1, Math.round(numbers.loraAlpha! / 2))
    else numbers.loraAlpha = numbers.loraRank * 2
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors }

  const input: NewJobInput = {
    model: values.modelKind === 'selftest' ? { kind: 'selftest' } : { kind: 'path', path: values.modelPath.trim() },
  }
  if (values.name.trim()) input.name = values.name.trim()
  if (values.modelKind === 'path') input.datasetPath = values.datasetPath.trim()
  // Defaults are left out so the host's (or the preset's) apply, as for the numbers.
  // The self-test's bundled dataset has its own format; the select is disabled then.
  if (values.modelKind === 'path' && values.datasetFormat !== 'auto') input.datasetFormat = values.datasetFormat
  if (values.method !== 'sft') input.method = values.method
  // With a preset chosen, 4-bit is sent either way: the preset may ask for it where the form could not.
  if (values.quantization !== 'none' || values.preset !== '') input.quantization = values.quantization
  if (values.initFrom) input.initFrom = { jobId: values.initFrom.jobId, checkpoint: values.initFrom.checkpoint }
  if (values.preset) input.preset = values.preset
  if (numbers.loraRank !== undefined && numbers.loraAlpha !== undefined) input.lora = { rank: numbers.loraRank, alpha: numbers.loraAlpha }
  if (numbers.learningRate !== undefined) input.learningRate = numbers.learningRate
  if (numbers.epochs !== undefined) input.epochs = numbers.epochs
  if (numbers.batchSize !== undefined) input.batchSize = numbers.batchSize
  if (numbers.maxSeqLength !== undefined) input.maxSeqLength = numbers.maxSeqLength
  if (numbers.checkpointEvery !== undefined) input.checkpointEvery = numbers.checkpointEvery
  if (numbers.keepCheckpoints !== undefined) input.keepCheckpoints = numbers.keepCheckpoints
  Object.assign(input, advancedInput(values, numbers, targetModules.value, columns.value))
  return { ok: true, input }
}

/**
 * The Advanced section's part of the input. Switches are sent when on, and
 * also when off while a preset is chosen, so that unticking a box beats a
 * preset that turns it on.
 */
function advancedInput(
  values: NewJobFormValues,
  numbers: Partial<Record<NumberKey, number>>,
  targetModules: NewJobInput['targetModules'],
  columns: NewJobInput['columns'],
): Partial<NewJobInput> {
  const input: Partial<NewJobInput> = {}
  const sendSwitch = (on: boolean): boolean | undefined => (on || values.preset !== '' ? on : undefined)
  const locked = values.initFrom !== null
  if (numbers.gradientAccumulation !== undefined) input.gradientAccumulation = numbers.gradientAccumulation
  if (numbers.validationSplit !== undefined) input.validationSplit = numbers.validationSplit
  if (values.badRows !== 'fail') input.badRows = values.badRows
  if (columns !== undefined) input.columns = columns
  if (values.packing !== '') input.packing = values.packing === 'on'
  const trainOnInputs = sendSwitch(values.trainOnInputs)
  if (trainOnInputs !== undefined) input.trainOnInputs = trainOnInputs
  if (!locked) {
    // Dropout, target modules, rsLoRA and DoRA come with a checkpoint's LoRA shape.
    if (numbers.loraDropout !== undefined) input.loraDropout = numbers.loraDropout
    if (targetModules !== undefined) input.targetModules = targetModules
    const rslora = sendSwitch(values.rslora)
    if (rslora !== undefined) input.rslora = rslora
    const dora = sendSwitch(values.dora)
    if (dora !== undefined) input.dora = dora
  }
  if (values.method === 'dpo' && numbers.dpoBeta !== undefined) input.dpoBeta = numbers.dpoBeta
  return input
}

// The host may name a field by its place in config.json rather than in the form input.
const serverAliases: Record<string, FieldKey> = {
  model: 'model.path',
  'model.path': 'model.path',
  'dataset.path': 'datasetPath',
  dataset: 'datasetPath',
  datasetPath: 'datasetPath',
  'dataset.format': 'datasetFormat',
  'model.quantization': 'quantization',
  'initFrom.jobId': 'initFrom',
  'initFrom.checkpoint': 'initFrom',
  'training.learningRate': 'learningRate',
  'training.epochs': 'epochs',
  'training.batchSize': 'batchSize',
  'training.maxSeqLength': 'maxSeqLength',
  'training.checkpointEvery': 'checkpointEvery',
  'training.keepCheckpoints': 'keepCheckpoints',
  lora: 'lora.rank',
  'training.gradientAccumulation': 'gradientAccumulation',
  'dataset.validationSplit': 'validationSplit',
  'dataset.badRows': 'badRows',
  'training.packing': 'packing',
  'training.trainOnInputs': 'trainOnInputs',
  loraDropout: 'lora.dropout',
  targetModules: 'lora.targetModules',
  rslora: 'lora.rslora',
  dora: 'lora.dora',
  dpoBeta: 'dpo.beta',
  'dataset.columns': 'columns',
}

// Errors inside these name an element (columns.output, targetModules.1): shown beside the whole field.
const nestedFields = ['dataset.columns', 'columns', 'lora.targetModules', 'targetModules']

const formFields: readonly FieldKey[] = Object.values(numberRules).map((rule) => rule.field).concat([
  'name',
  'model.path',
  'datasetPath',
  'datasetFormat',
  'method',
  'quantization',
  'initFrom',
  'preset',
  'badRows',
  'packing',
  'trainOnInputs',
  'lora.targetModules',
  'lora.rslora',
  'lora.dora',
  'columns',
])

/** The form field a host key names, and the part of the key below it (the column's name, say). */
function formFieldOf(key: string): { field?: FieldKey; rest?: string } {
  const direct = serverAliases[key] ?? (formFields.includes(key as FieldKey) ? (key as FieldKey) : undefined)
  if (direct) return { field: direct }
  const parent = nestedFields.find((name) => key.startsWith(`${name}.`))
  if (parent === undefined) return {}
  return { field: serverAliases[parent] ?? (parent as FieldKey), rest: key.slice(parent.length + 1) }
}

/**
 * Splits the host's data.fields into messages beside known fields and
 * messages for the top of the form (fields the form does not show).
 */
export function placeServerErrors(fields: Record<string, string>): { byField: Partial<Record<FieldKey, string>>; general: string[] } {
  const byField: Partial<Record<FieldKey, string>> = {}
  const general: string[] = []
  for (const [key, message] of Object.entries(fields)) {
    const { field, rest } = formFieldOf(key)
    if (field && !byField[field]) byField[field] = rest ? `${rest}: ${message}` : message
    else general.push(`${key}: ${message}`)
  }
  return { byField, general }
}

/**
 * The form filled from a preset, so it shows what will train. Values the
 * preset leaves out are kept, except switches (rsLoRA, DoRA, train on
 * inputs), which go back to off; the LoRA shape of a checkpoint the job
 * starts from is kept. A preset's 4-bit loading is ticked only where `cuda`
 * says it can work.
 */
export function applyPreset(values: NewJobFormValues, preset: Preset | undefined, cuda = false): NewJobFormValues {
  if (!preset) return { ...values, preset: '' }
  const text = (value: number | string | undefined, fallback: string): string => (value === undefined ? fallback : String(value))
  const locked = values.initFrom !== null
  const { lora, training } = preset
  const wanted = preset.model?.quantization
  const quantization = wanted === undefined ? values.quantization : wanted === '4bit' && cuda ? '4bit' : 'none'
  return {
    ...values,
    preset: preset.id,
    quantization,
    loraRank: locked ? values.loraRank : text(lora.rank, values.loraRank),
    loraAlpha: locked ? values.loraAlpha : text(lora.alpha, values.loraAlpha),
    learningRate: text(training.learningRate, values.learningRate),
    epochs: text(training.epochs, values.epochs),
    batchSize: text(training.batchSize, values.batchSize),
    maxSeqLength: text(training.maxSeqLength, values.maxSeqLength),
    gradientAccumulation: text(training.gradientAccumulation, values.gradientAccumulation),
    packing: training.packing === undefined ? values.packing : training.packing ? 'on' : 'off',
    trainOnInputs: training.trainOnInputs ?? false,
    loraDropout: locked ? values.loraDropout : text(lora.dropout, values.loraDropout),
    targetModules: locked ? values.targetModules : text(targetModulesText(lora.targetModules), values.targetModules),
    rslora: locked ? values.rslora : (lora.rslora ?? false),
    dora: locked ? values.dora : (lora.dora ?? false),
  }
}

/**
 * A form that starts from `checkpoint` of `job`: the same model (the host
 * insists), the same data and method to change if wanted, and the job's
 * LoRA shape shown in the locked rank and alpha fields.
 */
export function formFromCheckpoint(job: Job, checkpoint: Pick<Checkpoint, 'name'>): NewJobFormValues {
  const { config } = job
  const selftest = config.model.selftest
  return {
    ...emptyForm,
    modelKind: selftest ? 'selftest' : 'path',
    modelPath: selftest ? '' : config.model.path,
    // The self-test keeps its bundled dataset; a real job offers its own file again.
    datasetPath: selftest ? '' : config.dataset.path,
    datasetFormat: selftest ? 'auto' : config.dataset.format,
    method: config.method,
    quantization: config.model.quantization,
    initFrom: { jobId: job.id, checkpoint: checkpoint.name, jobName: job.name },
    loraRank: String(config.lora.rank),
    loraAlpha: String(config.lora.alpha),
    loraDropout: String(config.lora.dropout),
    targetModules: targetModulesText(config.lora.targetModules) ?? '',
    rslora: config.lora.rslora,
    dora: config.lora.dora,
    // The same file, read the same way.
    badRows: config.dataset.badRows,
    columns: selftest ? [] : columnPairs(config.dataset.columns),
  }
}
