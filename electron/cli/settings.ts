/**
 * `tunedeck start`'s settings as jobs.create takes them: a --config file of settings keyed as
 * config.json, then each --set KEY=VALUE, then --model, --dataset (repeated: a mix), --preset and --name. The
 * host checks every value against the one config schema and names the field it refuses.
 */
import { UsageError } from './commands'

type Settings = Record<string, unknown>

/** Keys a --config file may hold besides the settings: a whole config.json of another job works too. */
const jobOnlyKeys = ['version', 'jobId', 'resumeFrom', 'initFrom']

/** A --set value: JSON where it parses (numbers, true, lists), else the text itself. */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** Sets `training.learningRate` inside `settings`, making the sections on the way. */
export function setPath(settings: Settings, key: string, value: unknown): void {
  const parts = key.split('.')
  if (parts.some((part) => part.length === 0 || part === '__proto__' || part === 'constructor' || part === 'prototype')) {
    throw new UsageError(`--set ${key}: name a setting as config.json does, e.g. training.learningRate.`)
  }
  let section = settings
  for (const part of parts.slice(0, -1)) {
    const next = section[part]
    if (next === undefined) section[part] = {}
    else if (typeof next !== 'object' || next === null || Array.isArray(next))
      throw new UsageError(`--set ${key}: ${part} is a value, not a section.`)
    section = section[part] as Settings
  }
  section[parts[parts.length - 1]!] = value
}

/** What the command line needs from the outside: reading the --config file, and the working folder. */
export interface SettingsSources {
  readFile: (path: string) => string
  resolvePath: (path: string) => string
  exists: (path: string) => boolean
}

/** The jobs.create input for `tunedeck start`'s flags; throws UsageError naming the flag. */
export function startInput(flags: Record<string, string | true | string[]>, sources: SettingsSources): Settings {
  let settings: Settings = {}
  const configFile = flags['--config']
  if (typeof configFile === 'string') {
    let text: string
    try {
      text = sources.readFile(configFile)
    } catch (error) {
      throw new UsageError(`--config ${configFile}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`)
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (error) {
      throw new UsageError(`--config ${configFile}: not valid JSON (${(error as Error).message}).`)
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new UsageError(`--config ${configFile}: expected an object of settings such as {"training": {"epochs": 2}}.`)
    settings = Object.fromEntries(Object.entries(parsed).filter(([key]) => !jobOnlyKeys.includes(key)))
  }
  for (const assignment of (flags['--set'] as string[] | undefined) ?? []) {
    const equals = assignment.indexOf('=')
    if (equals <= 0) throw new UsageError(`--set ${assignment}: write KEY=VALUE, e.g. --set training.epochs=2.`)
    setPath(settings, assignment.slice(0, equals), parseValue(assignment.slice(equals + 1)))
  }
  const model = flags['--model']
  if (model === 'selftest') setPath(settings, 'model.selftest', true)
  // A folder here is sent as an absolute path (the host has another working folder); a hub id as it is.
  else if (typeof model === 'string')
    setPath(settings, 'model.path', !sources.exists(model) && looksLikeHubId(model) ? model : sources.resolvePath(model))
  const given = flags['--dataset']
  const datasets = (typeof given === 'string' ? [given] : Array.isArray(given) ? given : []).map((text) => datasetFlag(text, sources))
  const [first, ...mixed] = datasets
  if (first !== undefined) {
    setPath(settings, 'dataset.path', first.path)
    if (first.weight !== undefined) setPath(settings, 'dataset.weight', first.weight)
  }
  // More than one --dataset: the others are mixed with the first (dataset.mix), each read its own way by the host.
  if (mixed.length > 0) setPath(settings, 'dataset.mix', mixed)
  const from = flags['--from']
  if (typeof from === 'string') {
    const slash = from.indexOf('/')
    if (slash <= 0 || slash === from.length - 1) throw new UsageError(`--from ${from}: write JOB/CHECKPOINT, e.g. --from 0abc123/step-40.`)
    settings.initFrom = {
      jobId: from.slice(0, slash),
      checkpoint: from.slice(slash + 1),
      ...(flags['--optimizer'] === true ? { optimizer: true } : {}),
    }
  } else if (flags['--optimizer'] === true) {
    throw new UsageError('--optimizer continues the optimizer of the checkpoint --from names: add --from JOB/CHECKPOINT.')
  }
  if (typeof flags['--preset'] === 'string') settings.preset = flags['--preset']
  if (typeof flags['--name'] === 'string') settings.name = flags['--name']
  if (settings.model === undefined) throw new UsageError('tunedeck start needs --model (a folder, a hub id in your cache, or selftest).')
  return settings
}

/** "Qwen/Qwen2.5-0.5B": org/name, not a relative folder (./org/name is one). */
function looksLikeHubId(value: string): boolean {
  return /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(value)
}

/**
 * One --dataset: PATH, or PATH:WEIGHT with a number after the last colon (a Windows drive's colon
 * is no weight); the path absolute, since the host has another working folder.
 */
export function datasetFlag(text: string, sources: SettingsSources): { path: string; weight?: number } {
  const colon = text.lastIndexOf(':')
  const tail = colon > 0 ? text.slice(colon + 1) : ''
  if (colon > 0 && /^\d*\.?\d+$/.test(tail) && !sources.exists(text)) {
    const weight = Number(tail)
    if (!(weight > 0)) throw new UsageError(`--dataset ${text}: the weight must be above 0, e.g. ${text.slice(0, colon)}:0.5.`)
    return { path: sources.resolvePath(text.slice(0, colon)), weight }
  }
  return { path: sources.resolvePath(text) }
}
