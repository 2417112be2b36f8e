/**
 * The adapter library on disk: <dataDir>/adapters/<id>/ holds adapter_model.safetensors,
 * adapter_config.json, the tokenizer's files, README.md (the card), adapter.json (what the
 * list shows) and state.json (what a checkpoint records, so a new job can start from the
 * folder with initFrom exactly as from a checkpoint).
 *
 * No database table: the folder is the whole record. A folder is written under a
 * ".staging-" name and renamed into place once whole, so listing never sees half of one,
 * and deleting the folder deletes the adapter; a table would only be a second copy to keep
 * in step with it.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { libraryAdapterSchema, type LibraryAdapter } from '@shared/adapters'
import { appError } from '@shared/errors'
import { removeAbandoned } from '../abandoned'
import { cachedHubModel } from '../models/cache'

/** What adapter.json stores: the list's row less what is worked out when listing. */
export type AdapterRecord = Omit<LibraryAdapter, 'id' | 'baseAvailable' | 'bytes'>

const recordFile = 'adapter.json'
const safeId = /^[A-Za-z0-9_-]{1,64}$/

/** <dataDir>/adapters. */
export function libraryDir(dataDir: string): string {
  return path.join(dataDir, 'adapters')
}

/** A new adapter id: time-ordered, like job ids. */
export function newAdapterId(): string {
  return `a${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
}

/** The folder of adapter ``id``; refuses an id that could walk the disk or names no adapter. */
export function adapterFolder(dataDir: string, id: string): string {
  const folder = path.join(libraryDir(dataDir), id)
  if (!safeId.test(id) || !fs.existsSync(path.join(folder, recordFile))) {
    throw appError('not_found', `adapterId: there is no adapter "${id}" in the library; pick one from the Adapters page.`, {
      fields: { adapterId: 'no such adapter' },
    })
  }
  return folder
}

/** True when the base model is on this machine: a folder that exists, or a hub id downloaded into the hub cache. */
export function baseAvailable(baseModel: string): boolean {
  if (path.isAbsolute(baseModel)) return fs.existsSync(baseModel)
  return cachedHubModel(baseModel) !== null
}

/**
 * The base an imported adapter names, as this machine has it: an export names a local base by its
 * folder's name alone (its absolute path means nothing elsewhere), so a name that is a folder of
 * this data folder's model library becomes that folder; anything else (a hub id, a path) stays.
 */
export function localBase(dataDir: string, baseModel: string): string {
  if (path.isAbsolute(baseModel) || baseModel.includes('/') || baseModel.includes('\\') || baseModel.startsWith('.')) return baseModel
  const folder = path.join(dataDir, 'models', baseModel)
  return fs.existsSync(path.join(folder, 'config.json')) ? folder : baseModel
}

/** Bytes of the files in an adapter folder (it has no subfolders but a tokenizer's, counted too). */
function folderBytes(folder: string): number {
  let total = 0
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name)
    if (entry.isDirectory()) total += folderBytes(full)
    else if (entry.isFile()) total += fs.statSync(full).size
  }
  return total
}

/** Reads one folder's adapter.json; undefined when it is missing or not one. */
export function readAdapter(dataDir: string, id: string): LibraryAdapter | undefined {
  const folder = path.join(libraryDir(dataDir), id)
  try {
    const record = JSON.parse(fs.readFileSync(path.join(folder, recordFile), 'utf8')) as AdapterRecord
    return libraryAdapterSchema.parse({ ...record, id, baseAvailable: baseAvailable(record.baseModel), bytes: folderBytes(folder) })
  } catch {
    return undefined
  }
}

/** Every adapter of the library, newest first. Folders being written (".staging-") are skipped. */
export function listAdapters(dataDir: string): LibraryAdapter[] {
  let names: string[] = []
  try {
    names = fs.readdirSync(libraryDir(dataDir))
  } catch {
    return []
  }
  return names
    .filter((name) => safeId.test(name))
    .map((name) => readAdapter(dataDir, name))
    .filter((adapter): adapter is LibraryAdapter => adapter !== undefined)
    .sort((a, b) => b.created.localeCompare(a.created))
}

/** A staging folder in the library, renamed into place by commitAdapter. */
export function stagingFolder(dataDir: string): string {
  fs.mkdirSync(libraryDir(dataDir), { recursive: true })
  return path.join(libraryDir(dataDir), `.staging-${process.pid}-${randomBytes(4).toString('hex')}`)
}

/**
 * Writes adapter.json, state.json and README.md into ``staging`` (which holds the weights
 * and configs already) and renames it to the adapter's folder. Returns the listed adapter.
 */
export function commitAdapter(dataDir: string, staging: string, record: AdapterRecord, card: string): LibraryAdapter {
  const id = newAdapterId()
  // What checkpoint.find_init and jobs/init.ts read from a checkpoint: complete, base model and LoRA shape.
  const state = {
    complete: true,
    step: 0,
    method: 'sft',
    baseModel: record.baseModel,
    loraRank: record.rank,
    loraAlpha: record.alpha,
    targetModules: record.targetModules,
  }
  fs.writeFileSync(path.join(staging, 'state.json'), JSON.stringify(state, null, 2) + '\n')
  fs.writeFileSync(path.join(staging, 'README.md'), card)
  fs.writeFileSync(path.join(staging, recordFile), JSON.stringify(record, null, 2) + '\n')
  fs.renameSync(staging, path.join(libraryDir(dataDir), id))
  const adapter = readAdapter(dataDir, id)
  if (!adapter) throw new Error(`The adapter written to ${path.join(libraryDir(dataDir), id)} cannot be read back`)
  return adapter
}

/** Staging folders left by a host that died mid-import or mid-combine. */
export function removeAbandonedStaging(dataDir: string): void {
  removeAbandoned(libraryDir(dataDir), (name) => Number(/^\.staging-(\d+)-/.exec(name)?.[1]) || undefined)
}
