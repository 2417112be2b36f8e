/**
 * An export leaves this machine: its job config and terminal log must not carry this machine's
 * folders (they mean nothing elsewhere and say where the user keeps things). The base model is
 * named as prepare.py names it in adapter_config.json (a hub id, else the folder's name), a
 * dataset by its file name, the rest of this machine's paths relative to a named folder.
 */
import os from 'node:os'
import path from 'node:path'

/** The job's config.json text with the base as `baseModel` and every other absolute path by its last name. */
export function portableConfig(text: string, baseModel: string): string {
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string')
      return path.isAbsolute(value) || path.win32.isAbsolute(value)
        ? path.basename(value.replace(/[\\/]+$/, '').replaceAll('\\', '/'))
        : value
    if (Array.isArray(value)) return value.map(walk)
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, walk(inner)]))
    return value
  }
  const config = walk(JSON.parse(text)) as { model?: { path?: string } }
  if (config.model?.path !== undefined) config.model.path = baseModel
  return JSON.stringify(config, null, 2) + '\n'
}

/** Folders of this machine and what a log says instead, longest first so the most precise wins. */
export function machineFolders(jobDir: string, modelPath: string, datasetPath: string, baseModel: string): Array<[string, string]> {
  // jobDir is <data folder>/jobs/<id> (sources.ts jobFolder).
  const pairs: Array<[string, string]> = [
    [path.resolve(modelPath), baseModel],
    [path.resolve(datasetPath), path.basename(datasetPath)],
    [jobDir, '<job folder>'],
    [path.dirname(path.dirname(jobDir)), '<data folder>'],
    [os.homedir(), '~'],
  ]
  return pairs.filter(([folder]) => folder.length > 1).sort((a, b) => b[0].length - a[0].length)
}

/** `text` with each folder of `folders` replaced. */
export function portableText(text: string, folders: Array<[string, string]>): string {
  return folders.reduce((result, [folder, name]) => result.replaceAll(folder, name), text)
}
