/**
 * The new-job form's values, client-side checks and the mapping of the
 * host's field errors onto the form. Fields left empty use the host's
 * defaults (or the preset's), so only what the user typed is sent.
 */
import type { DatasetFormat } from '../../../electron/shared/config'
import type { Checkpoint, Job, NewJobInput, Preset } from '../../../electron/shared/jobs'

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
  method: 'sft' | 'dpo'
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

type NumberKey = 'loraRank' | 'loraAlpha' | 'learningRate' | 'epochs' | 'batchSize' | 'maxSeqLength' | 'checkpointEvery' | 'keepCheckpoints'

const numberRules: Record<NumberKey, NumberRule> = {
  loraRank: { field: 'lora.rank', label: 'LoRA rank', integer: true, min: 1, max: 1024 },
  loraAlpha: { field: 'lora.alpha', label: 'LoRA alpha', integer: false, above: 0, max: 4096 },
  learningRate: { field: 'learningRate', label: 'Learning rate', integer: false, above: 0, max: 1 },
  epochs: { field: 'epochs', label: 'Epochs', integer: false, above: 0, max: 100 },
  batchSize: { field: 'batchSize', label: 'Batch size', integer: true, min: 1, max: 1024 },
  maxSeqLength: { field: 'maxSeqLength', label: 'Max sequence length', integer: true, min: 16, max: 131072 },
  checkpointEvery: { field: 'checkpointEvery', label: 'Checkpoint every', integer: true, min: 0, max: 1_000_000 },
  keepCheckpoints: { field: 'keepCheckpoints', label: 'Periodic checkpoints kept', integer: true, min: 1, max: 100 },
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
    const rule = numberRules[key]
    const result = checkNumber(values[key], rule)
    if (result.error) errors[rule.field] = result.error
    else if (result.value !== undefined) numbers[key] = result.value
  }
  if (values.name.trim().length > 120) errors.name = 'Name must be at most 120 characters.'
  if (values.modelKind === 'path') {
    if (values.modelPath.trim() === '') errors['model.path'] = 'Enter a model folder path or a hub id already in the local cache.'
    if (values.datasetPath.trim() === '') errors.datasetPath = 'Enter the path of a dataset file (.jsonl, .json, .csv or .parquet).'
  }
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
  if (values.quantization !== 'none') input.quantization = values.quantization
  if (values.initFrom) input.initFrom = { jobId: values.initFrom.jobId, checkpoint: values.initFrom.checkpoint }
  if (values.preset) input.preset = values.preset
  if (numbers.loraRank !== undefined && numbers.loraAlpha !== undefined) input.lora = { rank: numbers.loraRank, alpha: numbers.loraAlpha }
  if (numbers.learningRate !== undefined) input.learningRate = numbers.learningRate
  if (numbers.epochs !== undefined) input.epochs = numbers.epochs
  if (numbers.batchSize !== undefined) input.batchSize = numbers.batchSize
  if (numbers.maxSeqLength !== undefined) input.maxSeqLength = numbers.maxSeqLength
  if (numbers.checkpointEvery !== undefined) input.checkpointEvery = numbers.checkpointEvery
  if (numbers.keepCheckpoints !== undefined) input.keepCheckpoints = numbers.keepCheckpoints
  return { ok: true, input }
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
}

const formFields: readonly FieldKey[] = Object.values(numberRules).map((rule) => rule.field).concat([
  'name',
  'model.path',
  'datasetPath',
  'datasetFormat',
  'method',
  'quantization',
  'initFrom',
  'preset',
])

/**
 * Splits the host's data.fields into messages beside known fields and
 * messages for the top of the form (fields the form does not show).
 */
export function placeServerErrors(fields: Record<string, string>): { byField: Partial<Record<FieldKey, string>>; general: string[] } {
  const byField: Partial<Record<FieldKey, string>> = {}
  const general: string[] = []
  for (const [key, message] of Object.entries(fields)) {
    const field = serverAliases[key] ?? (formFields.includes(key as FieldKey) ? (key as FieldKey) : undefined)
    if (field && !byField[field]) byField[field] = message
    else general.push(`${key}: ${message}`)
  }
  return { byField, general }
}

/**
 * The form's numeric fields filled from a preset; fields the preset leaves
 * out are kept, and so is the LoRA shape of a checkpoint the job starts from.
 */
export function applyPreset(values: NewJobFormValues, preset: Preset | undefined): NewJobFormValues {
  if (!preset) return { ...values, preset: '' }
  const text = (value: number | undefined, fallback: string): string => (value === undefined ? fallback : String(value))
  const locked = values.initFrom !== null
  return {
    ...values,
    preset: preset.id,
    loraRank: locked ? values.loraRank : text(preset.lora.rank, values.loraRank),
    loraAlpha: locked ? values.loraAlpha : text(preset.lora.alpha, values.loraAlpha),
    learningRate: text(preset.training.learningRate, values.learningRate),
    epochs: text(preset.training.epochs, values.epochs),
    batchSize: text(preset.training.batchSize, values.batchSize),
    maxSeqLength: text(preset.training.maxSeqLength, values.maxSeqLength),
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
  }
}
