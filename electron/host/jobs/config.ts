/**
 * Turns what the new-job form sends (NewJobInput) into a whole JobConfig:
 * defaults, then the self-test's or a preset's settings, then the values the
 * user typed, which always win. Only a checkpoint the job starts from
 * (initFrom) overrides them: its base model and LoRA shape.
 */
import fs from 'node:fs'
import path from 'node:path'
import { jobConfigSchema, configVersion, type JobConfig } from '../../shared/config'
import { appError, validationError } from '../../shared/errors'
import { newJobInputSchema, presetSchema, type NewJobInput, type Preset } from '../../shared/jobs'
import { initModel, readInitSource } from './init'

/** Where create() looks for things. */
export interface ConfigPaths {
  dataDir: string
  resourcesDir: string
}

/** Settings a preset or the self-test file may give; the same camelCase keys as config.json. */
interface SettingsFile {
  /** The self-test's dataset, relative to resources/selftest. */
  datasetFile?: string
  lora?: Record<string, unknown>
  training?: Record<string, unknown>
  dataset?: Record<string, unknown>
}

/** The folder of the tiny model the self-test builds on first use. */
export function selftestModelPath(dataDir: string): string {
  return path.join(dataDir, 'models', 'tiny-selftest')
}

/** What the dataset field takes, for messages. */
const datasetKinds = '.jsonl, .json, .csv, .parquet, .txt, or a folder saved with save_to_disk'

/** A hub id such as "Qwen/Qwen2.5-0.5B": accepted as is, the trainer finds it in the local cache. */
const hubId = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'))
}

/** Every valid preset in <resourcesDir>/presets, sorted by id; a broken file is reported and left out. */
export function loadPresets(resourcesDir: string): Preset[] {
  const folder = path.join(resourcesDir, 'presets')
  let names: string[]
  try {
    names = fs.readdirSync(folder).filter((name) => name.endsWith('.json'))
  } catch {
    return []
  }
  const presets: Preset[] = []
  for (const name of names.sort()) {
    const file = path.join(folder, name)
    try {
      const raw = readJson(file) as Record<string, unknown>
      const parsed = presetSchema.safeParse({ id: path.basename(name, '.json'), ...raw })
      if (parsed.success) presets.push(parsed.data)
      else process.stderr.write(`Preset ${file} is not valid and was left out: ${parsed.error.issues[0]?.message}\n`)
    } catch (error) {
      process.stderr.write(`Preset ${file} could not be read and was left out: ${(error as Error).message}\n`)
    }
  }
  return presets
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile()
  } catch {
    return false
  }
}

function isDirectory(folder: string): boolean {
  try {
    return fs.statSync(folder).isDirectory()
  } catch {
    return false
  }
}

function invalidField(field: string, message: string): never {
  throw appError('invalid_input', `${field}: ${message}`, { fields: { [field]: message } })
}

/** A default job name the list can show: "Self-test", or "<model> on <dataset>". */
function defaultName(input: NewJobInput, config: JobConfig): string {
  if (input.model.kind === 'selftest') return 'Self-test'
  return `${path.basename(config.model.path)} on ${path.basename(config.dataset.path)}`
}

/**
 * Builds and validates the config of a new job. Throws an invalid_input
 * AppError whose data.fields names the form field when the model folder or
 * dataset does not exist or a value is out of range.
 */
export function buildJobConfig(jobId: string, rawInput: NewJobInput, paths: ConfigPaths): { config: JobConfig; name: string } {
  const parsedInput = newJobInputSchema.safeParse(rawInput)
  if (!parsedInput.success) throw validationError(parsedInput.error.issues, 'New job')
  const input = parsedInput.data

  let preset: Preset | undefined
  if (input.preset !== undefined) {
    preset = loadPresets(paths.resourcesDir).find((candidate) => candidate.id === input.preset)
    if (preset === undefined) invalidField('preset', `there is no preset "${input.preset}"`)
  }
  // The form's choice wins; a preset's 4-bit applies only when the form does not say.
  const quantization = input.quantization ?? preset?.model?.quantization ?? 'none'

  let base: SettingsFile = {}
  let model: JobConfig['model']
  let datasetPath: string
  if (input.model.kind === 'selftest') {
    const jobFile = path.join(paths.resourcesDir, 'selftest', 'job.json')
    if (isFile(jobFile)) base = readJson(jobFile) as SettingsFile
    model = { path: selftestModelPath(paths.dataDir), selftest: true, quantization }
    datasetPath = input.datasetPath || path.join(paths.resourcesDir, 'selftest', base.datasetFile ?? 'dataset.jsonl')
  } else {
    const modelPath = input.model.path.trim()
    const local = path.resolve(modelPath)
    if (isDirectory(local)) model = { path: local, selftest: false, quantization }
    else if (hubId.test(modelPath) && !fs.existsSync(local)) model = { path: modelPath, selftest: false, quantization }
    else invalidField('model.path', `no model folder at ${local}: choose a folder with config.json and the weights, or a hub id like org/name`)
    if (!input.datasetPath) invalidField('datasetPath', `choose a dataset file (${datasetKinds})`)
    datasetPath = path.resolve(input.datasetPath)
  }
  checkDatasetPath(datasetPath)

  // Starting from another job's checkpoint: its base model and LoRA shape win over the form's and the preset's.
  const init = input.initFrom !== undefined ? readInitSource(paths.dataDir, input.initFrom) : undefined
  if (init !== undefined) model = initModel(init, model, input)

  const typed = {
    lora: definedOnly({
      ...(input.lora ? { rank: input.lora.rank, alpha: input.lora.alpha } : {}),
      dropout: input.loraDropout,
      targetModules: input.targetModules,
      rslora: input.rslora,
      dora: input.dora,
    }),
    training: definedOnly({
      learningRate: input.learningRate,
      epochs: input.epochs,
      batchSize: input.batchSize,
      gradientAccumulation: input.gradientAccumulation,
      maxSeqLength: input.maxSeqLength,
      packing: input.packing,
      trainOnInputs: input.trainOnInputs,
      checkpointEvery: input.checkpointEvery,
      keepCheckpoints: input.keepCheckpoints,
    }),
    dataset: definedOnly({
      format: input.datasetFormat,
      columns: input.columns,
      badRows: input.badRows,
      validationSplit: input.validationSplit,
    }),
  }
  const training: Record<string, unknown> = { ...base.training, ...preset?.training, ...typed.training }
  // 4-bit loading exists to fit a model that would not fit otherwise; trade compute for memory unless told not to.
  if (model.quantization === '4bit' && training.gradientCheckpointing === undefined) training.gradientCheckpointing = true
  const candidate = {
    version: configVersion,
    jobId,
    method: input.method ?? 'sft',
    model,
    dataset: { ...base.dataset, path: datasetPath, ...typed.dataset },
    lora: { ...base.lora, ...preset?.lora, ...typed.lora, ...init?.lora },
    training,
    ...(input.dpoBeta !== undefined ? { dpo: { beta: input.dpoBeta } } : {}),
    resumeFrom: null,
    initFrom: init?.folder ?? null,
  }
  const parsed = jobConfigSchema.safeParse(candidate)
  if (!parsed.success) throw validationError(parsed.error.issues, 'Job settings')
  return { config: parsed.data, name: input.name?.trim() || defaultName(input, parsed.data) }
}

/** The entries of `values` that are set; what the user left empty takes the preset's or the default. */
function definedOnly(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined))
}

/**
 * The dataset must be a file, or a folder written by datasets' save_to_disk
 * (state.json, or dataset_dict.json with its splits), which the trainer reads too.
 */
function checkDatasetPath(datasetPath: string): void {
  if (isFile(datasetPath)) return
  if (!isDirectory(datasetPath)) invalidField('datasetPath', `no dataset file at ${datasetPath}: choose an existing file (${datasetKinds})`)
  const saved = ['state.json', 'dataset_dict.json'].some((name) => isFile(path.join(datasetPath, name)))
  if (!saved) {
    invalidField('datasetPath', `${datasetPath} is a folder but not a dataset saved with save_to_disk (it has no state.json or dataset_dict.json): choose a file (${datasetKinds}) or a save_to_disk folder`)
  }
}

/** Writes jobs/<id>/config.json whole or not at all: a temporary file renamed into place. */
export function writeConfigFile(jobDir: string, config: JobConfig): void {
  fs.mkdirSync(jobDir, { recursive: true })
  const target = path.join(jobDir, 'config.json')
  const temporary = path.join(jobDir, `.config.json.${process.pid}.tmp`)
  fs.writeFileSync(temporary, JSON.stringify(config, null, 2) + '\n')
  fs.renameSync(temporary, target)
}
