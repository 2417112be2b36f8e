/**
 * Turns what jobs.create takes (NewJobInput: settings keyed as config.json,
 * plus the model, dataset, preset and checkpoint to start from) into a whole
 * JobConfig. This file reads the files and checks the paths; which value wins
 * is mergeJobConfig's (shared/configMerge.ts). Errors name the field by its
 * config path in data.fields and by its label in the message.
 */
import fs from 'node:fs'
import path from 'node:path'
import { jobConfigSchema, jobSettingsSchema, type JobConfig, type JobSettings, type MixEntry } from '@shared/config'
import { mergeJobConfig, selftestLayer } from '@shared/configMerge'
import { appError, validationError } from '@shared/errors'
import { cleanName } from '@shared/names'
import { labelOf } from '@shared/fields'
import { datasetKinds, newJobInputSchema, presetSchema, type NewJobInput, type Preset } from '@shared/jobs'
import { checkInitFrom, readInitSource } from './init'
import { specialFileProblem } from '../fileKind'
import { cachedHubModel, hubCacheDir } from '../models/cache'
import { libraryDatasetOf } from '../datasets/library'
import type { DatasetReading } from '@shared/datasets'

/** Where create() looks for things. */
export interface ConfigPaths {
  dataDir: string
  resourcesDir: string
}

/** The folder of the tiny model the self-test builds on first use. */
export function selftestModelPath(dataDir: string): string {
  return path.join(dataDir, 'models', 'tiny-selftest')
}

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
      else
        process.stderr.write(
          `Preset ${file} is not valid and was left out: ${validationError(parsed.error.issues, name, presetSchema).message}\n`,
        )
    } catch (error) {
      process.stderr.write(`Preset ${file} could not be read and was left out: ${(error as Error).message}\n`)
    }
  }
  return presets
}

/** The self-test's own settings and dataset (resources/selftest/job.json); its settings use config.json's keys. */
export function readSelftestFile(resourcesDir: string): { settings: JobSettings; datasetFile: string } {
  const file = path.join(resourcesDir, 'selftest', 'job.json')
  const { description: _description, datasetFile, ...settings } = readJson(file) as Record<string, unknown>
  const parsed = jobSettingsSchema.safeParse(settings)
  if (!parsed.success)
    throw appError(
      'internal',
      `${file} is not valid: ${validationError(parsed.error.issues, file, jobSettingsSchema).message}; reinstall Tunedeck`,
    )
  return { settings: parsed.data, datasetFile: typeof datasetFile === 'string' ? datasetFile : 'dataset.jsonl' }
}

function isFile(file: string): boolean {
  return fs.statSync(file, { throwIfNoEntry: false })?.isFile() ?? false
}

function isDirectory(folder: string): boolean {
  return fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory() ?? false
}

/** Refuses a pipe, socket or device at `file` for `field` (a FIFO would block whatever opens it). */
function refuseSpecial(file: string, field: string): void {
  const problem = specialFileProblem(file)
  if (problem !== null) invalidField(field, problem)
}

/** Refuses the input, naming the field by its config path in data.fields and by its label in the message. */
export function invalidField(field: string, problem: string): never {
  const message = `${labelOf(newJobInputSchema, field)}: ${problem}`
  throw appError('invalid_input', message, { fields: { [field]: message } })
}

/**
 * A default job name that says model and dataset: "<model> on <dataset>"; "Self-test" for the
 * self-test model on its own bundled rows, "Self-test on <dataset>" on another file.
 */
function defaultName(config: JobConfig, ownDataset: boolean): string {
  const dataset = path.basename(config.dataset.path)
  if (config.model.selftest) return ownDataset ? `Self-test on ${dataset}` : 'Self-test'
  return `${path.basename(config.model.path)} on ${dataset}`
}

/** The model folder or hub id the input names, checked; the self-test's folder for the self-test. */
function resolveModel(input: NewJobInput, paths: ConfigPaths): { path: string; selftest: boolean } {
  if (input.model.selftest === true) return { path: selftestModelPath(paths.dataDir), selftest: true }
  const modelPath = (input.model.path ?? '').trim()
  const local = path.resolve(modelPath)
  refuseSpecial(local, 'model.path')
  if (isDirectory(local)) return { path: local, selftest: false }
  if (hubId.test(modelPath) && !fs.existsSync(local)) {
    // Training never downloads: a hub id must be in the cache already (the Models page downloads it).
    if (cachedHubModel(modelPath) !== null) return { path: modelPath, selftest: false }
    invalidField(
      'model.path',
      `the hub id ${modelPath} is not downloaded (looked in ${hubCacheDir()}): download it on the Models page first, or check the spelling (owner/name)`,
    )
  }
  invalidField('model.path', `no model folder at ${local}: choose a folder with config.json and the weights, or a hub id like org/name`)
}

/**
 * Builds and validates the config of a new job. Throws an invalid_input
 * AppError whose data.fields names the field by its config path when the model
 * folder or dataset does not exist, a checkpoint does not fit, or a value is
 * out of range.
 */
export function buildJobConfig(jobId: string, rawInput: NewJobInput, paths: ConfigPaths): { config: JobConfig; name: string } {
  const parsedInput = newJobInputSchema.safeParse(rawInput, { reportInput: true })
  if (!parsedInput.success) throw validationError(parsedInput.error.issues, 'New job', newJobInputSchema)
  const input = parsedInput.data
  const { name, preset: presetId, initFrom, model: _model, dataset: _dataset, ...settings } = input
  const { path: _datasetPath, mix: mixInput, ...datasetSettings } = input.dataset ?? {}
  const user: JobSettings = { ...settings, model: { quantization: input.model.quantization }, dataset: datasetSettings }

  let preset: Preset | undefined
  if (presetId !== undefined) {
    preset = loadPresets(paths.resourcesDir).find((candidate) => candidate.id === presetId)
    if (preset === undefined) invalidField('preset', `there is no preset "${presetId}": choose one from the list`)
  }

  const model = resolveModel(input, paths)
  let selftest: JobSettings | undefined
  let datasetPath: string
  const typedDataset = input.dataset?.path?.trim()
  if (model.selftest) {
    const file = readSelftestFile(paths.resourcesDir)
    selftest = selftestLayer(file.settings, Boolean(typedDataset))
    datasetPath = typedDataset ? path.resolve(typedDataset) : path.join(paths.resourcesDir, 'selftest', file.datasetFile)
  } else {
    if (!typedDataset) invalidField('dataset.path', `choose a dataset file (${datasetKinds})`)
    datasetPath = path.resolve(typedDataset)
  }
  checkDatasetPath(datasetPath)

  // Starting from another job's checkpoint: its base model and LoRA shape win (mergeJobConfig), once they are known to fit what was asked.
  const source = initFrom !== undefined ? readInitSource(paths.dataDir, initFrom) : undefined
  const checkpoint =
    source !== undefined
      ? {
          ...checkInitFrom(source, model, input),
          optimizer: initFrom !== undefined && 'optimizer' in initFrom && initFrom.optimizer === true,
        }
      : undefined

  const merged = mergeJobConfig({ jobId, model, datasetPath, selftest, preset, user, checkpoint })
  if (!merged.success) throw validationError(merged.error.issues, 'Job settings', jobConfigSchema)
  // Only the host says which library dataset (and which bytes) the job trains on.
  const { datasetId: _id, sha256: _sha256, ...dataset } = merged.data.dataset
  const { reading, unread, ...library } = libraryDatasetOf(paths.dataDir, datasetPath) ?? {}
  if (unread !== undefined && reading === undefined && dataset.format === 'auto' && Object.keys(dataset.columns).length === 0) {
    invalidField('dataset.path', `${unread} Open Read as… beside the dataset on the Datasets page and choose its format and columns first.`)
  }
  const mix = mixInput !== undefined ? libraryMix(paths.dataDir, mixInput) : merged.data.dataset.mix
  const config = { ...merged.data, dataset: { ...withReading(dataset, reading), ...library, mix } }
  // A default name comes from file names, which may hold control characters; a typed one was refused with them.
  return { config, name: cleanName(name ?? '') || cleanName(defaultName(config, Boolean(typedDataset))) }
}

/**
 * The library's way of reading a dataset (the Datasets page's format, column mapping, text
 * split and CSV header row) for each of those the job leaves at its default; what the job sets wins.
 */
function withReading<Dataset extends Pick<JobConfig['dataset'], 'format' | 'columns' | 'textSplit' | 'csvHeader'>>(
  dataset: Dataset,
  reading: DatasetReading | undefined,
): Dataset {
  if (reading === undefined) return dataset
  return {
    ...dataset,
    format: dataset.format === 'auto' ? reading.format : dataset.format,
    columns: Object.keys(dataset.columns).length === 0 ? reading.columns : dataset.columns,
    textSplit: dataset.textSplit === 'auto' ? reading.textSplit : dataset.textSplit,
    csvHeader: dataset.csvHeader === 'auto' ? reading.csvHeader : dataset.csvHeader,
  }
}

/**
 * The mixed datasets of jobs.create, each checked as dataset.path is (the field names it: dataset.mix.N.path)
 * and, when it is a library dataset, read the library's way (format, columns, text split) unless the
 * input says otherwise, with its id and SHA-256 set by the host alone.
 */
function libraryMix(dataDir: string, entries: NonNullable<NonNullable<NewJobInput['dataset']>['mix']>): MixEntry[] {
  return entries.map((entry, index) => {
    const file = path.resolve(entry.path.trim())
    checkDatasetPath(file, `dataset.mix.${index}.path`)
    const { datasetId: _id, sha256: _sha256, ...given } = entry
    const { reading, ...library } = libraryDatasetOf(dataDir, file) ?? {}
    return { ...withReading({ ...given, path: file }, reading), ...library }
  })
}

/**
 * The dataset must be a file, or a folder written by datasets' save_to_disk
 * (state.json, or dataset_dict.json with its splits), which the trainer reads too.
 */
function checkDatasetPath(datasetPath: string, field = 'dataset.path'): void {
  refuseSpecial(datasetPath, field)
  if (isFile(datasetPath)) return
  if (!isDirectory(datasetPath)) invalidField(field, `no dataset file at ${datasetPath}: choose an existing file (${datasetKinds})`)
  const saved = ['state.json', 'dataset_dict.json'].some((name) => isFile(path.join(datasetPath, name)))
  if (!saved) {
    invalidField(
      field,
      `${datasetPath} is a folder but not a dataset saved with save_to_disk (it has no state.json or dataset_dict.json): choose a file (${datasetKinds}) or a save_to_disk folder`,
    )
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
