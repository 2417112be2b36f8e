/**
 * initFrom: a new job that starts from the adapter weights of another job's
 * checkpoint (with a fresh optimizer). The checkpoint's state.json, written
 * by the trainer (python-runtime/tunedeck_trainer/saving.py, with every checkpoint), says
 * which base model and LoRA shape the weights fit; the new job takes both
 * from it, and a form that asks for another model or rank is refused here,
 * beside the field, rather than by the trainer minutes later.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { JobConfig, LoraConfig } from '@shared/config'
import type { ConfigLayers } from '@shared/configMerge'
import { appError } from '@shared/errors'
import { labelOf } from '@shared/fields'
import { newJobInputSchema, type NewJobInput } from '@shared/jobs'
import { checkpointsDir, wholeCheckpoint } from './checkpoints'

/** What a new job takes from the checkpoint it starts from. */
export interface InitSource {
  /** Absolute path of the checkpoint folder; goes into config.initFrom. */
  folder: string
  /** The base model the adapter was trained on, as the trainer resolved it. */
  baseModel: string
  /** True when the source job trained the self-test's tiny model, which is rebuilt when missing. */
  selftest: boolean
  /** The adapter's shape: rank, alpha and target modules from state.json, the rest from the source job's config. */
  lora: Partial<LoraConfig>
}

/** Job ids as the service makes them, and checkpoint names as the trainer writes them; nothing that walks the disk. */
const safeJobId = /^[A-Za-z0-9_-]{1,64}$/
const safeCheckpointName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** Refuses the input, naming the field by its config path in data.fields and by its label in the message. */
function refuse(field: string, problem: string): never {
  const message = `${labelOf(newJobInputSchema, field)}: ${problem}`
  throw appError('invalid_input', message, { fields: { [field]: message } })
}

/** A folder with symbolic links resolved, as the trainer records it (macOS's /var is /private/var). */
function real(folder: string): string {
  try {
    return fs.realpathSync(folder)
  } catch {
    return path.resolve(folder)
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
}

/**
 * Finds and reads the checkpoint `initFrom` names. Throws invalid_input naming
 * `initFrom` when the job or checkpoint does not exist or the folder is not
 * whole (no state.json with complete:true).
 */
export function readInitSource(dataDir: string, initFrom: NonNullable<NewJobInput['initFrom']>): InitSource {
  if ('adapterId' in initFrom) return readLibrarySource(dataDir, initFrom.adapterId)
  const { jobId, checkpoint } = initFrom
  if (!safeJobId.test(jobId)) refuse('initFrom', `"${jobId}" is not a job id: choose a checkpoint from the job's checkpoint list`)
  if (!safeCheckpointName.test(checkpoint))
    refuse('initFrom', `"${checkpoint}" is not a checkpoint name: choose one from the job's checkpoint list`)
  const jobDir = path.join(dataDir, 'jobs', jobId)
  if (!fs.existsSync(jobDir)) refuse('initFrom', `there is no job with id ${jobId}: choose a checkpoint of an existing job`)
  const folder = path.join(checkpointsDir(jobDir), checkpoint)
  if (wholeCheckpoint(jobDir, checkpoint) === undefined) {
    const why = fs.existsSync(folder) ? 'is not a whole checkpoint (its state.json is missing or not complete)' : 'does not exist'
    refuse('initFrom', `checkpoint "${checkpoint}" of job ${jobId} ${why}: choose another checkpoint`)
  }
  const state = readJson(path.join(folder, 'state.json')) as Record<string, unknown>
  const { baseModel, loraRank, loraAlpha, targetModules } = state
  const modules =
    targetModules === 'all-linear' || (Array.isArray(targetModules) && targetModules.every((name) => typeof name === 'string'))
  if (typeof baseModel !== 'string' || !Number.isInteger(loraRank) || typeof loraAlpha !== 'number' || !modules) {
    refuse(
      'initFrom',
      `checkpoint "${checkpoint}" of job ${jobId} does not record its base model and LoRA shape (written by an older trainer?): choose a newer checkpoint`,
    )
  }
  // Dropout, rsLoRA and DoRA are not in state.json; DoRA changes the adapter's tensors, so take them from the source job.
  const source = readJson(path.join(jobDir, 'config.json')) as Partial<JobConfig> | undefined
  const { dropout, rslora, dora } = source?.lora ?? {}
  const lora: Partial<LoraConfig> = {
    ...(dropout !== undefined ? { dropout } : {}),
    ...(rslora !== undefined ? { rslora } : {}),
    ...(dora !== undefined ? { dora } : {}),
    rank: loraRank as number,
    alpha: loraAlpha,
    targetModules: targetModules as LoraConfig['targetModules'],
  }
  const selftest = source?.model?.selftest === true && real(source.model.path) === real(baseModel)
  return { folder: path.resolve(folder), baseModel, selftest, lora }
}

/**
 * A library adapter (electron/host/adapters/library.ts): its folder holds the state.json a
 * checkpoint has, and adapter.json says its dropout-free shape (DoRA, rsLoRA).
 */
function readLibrarySource(dataDir: string, adapterId: string): InitSource {
  const folder = path.join(dataDir, 'adapters', adapterId)
  const record = safeJobId.test(adapterId)
    ? (readJson(path.join(folder, 'adapter.json')) as Record<string, unknown> | undefined)
    : undefined
  const state = readJson(path.join(folder, 'state.json')) as Record<string, unknown> | undefined
  if (!record || state?.complete !== true)
    refuse('initFrom', `there is no adapter "${adapterId}" in the library: choose one from the Adapters page`)
  const { baseModel, loraRank, loraAlpha, targetModules } = state
  if (typeof baseModel !== 'string' || !Number.isInteger(loraRank) || typeof loraAlpha !== 'number') {
    refuse('initFrom', `library adapter "${adapterId}" does not record its base model and LoRA shape in ${folder}: import it again`)
  }
  const lora: Partial<LoraConfig> = {
    rank: loraRank as number,
    alpha: loraAlpha,
    targetModules: targetModules as LoraConfig['targetModules'],
    dora: record.dora === true,
    rslora: record.rslora === true,
  }
  return { folder: path.resolve(folder), baseModel, selftest: false, lora }
}

/** True when the model the form names is the checkpoint's base model. */
function sameModel(formModel: { path: string }, baseModel: string): boolean {
  if (real(formModel.path) === real(baseModel)) return true
  // A hub id is resolved by the trainer to its cache folder, models--org--name/snapshots/<hash>.
  const [organisation, name] = formModel.path.split('/')
  return name !== undefined && baseModel.split(/[\\/]/).includes(`models--${organisation}--${name}`)
}

/**
 * Checks what was asked against the checkpoint and returns what the checkpoint
 * fixes in the new job (mergeJobConfig puts it above every other layer): its
 * folder, its base model and its LoRA shape. Throws invalid_input naming
 * `model.path` or `lora.rank`, saying what the checkpoint has.
 */
export function checkInitFrom(
  source: InitSource,
  formModel: { path: string; selftest: boolean },
  input: NewJobInput,
): NonNullable<ConfigLayers['checkpoint']> {
  const where = `the checkpoint ${source.folder}`
  if (!sameModel(formModel, source.baseModel)) {
    refuse('model.path', `${where} was trained on ${source.baseModel}, not ${formModel.path}: choose that model or another checkpoint`)
  }
  const rank = input.lora?.rank
  if (rank !== undefined && rank !== source.lora.rank) {
    refuse(
      'lora.rank',
      `${where} has LoRA rank ${source.lora.rank}, not ${rank}: set the rank to ${source.lora.rank} or choose another checkpoint`,
    )
  }
  return { folder: source.folder, model: { path: source.baseModel, selftest: source.selftest || formModel.selftest }, lora: source.lora }
}
