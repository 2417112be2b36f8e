/**
 * What an unpacked adapter must be before the library keeps it: a PEFT LoRA adapter_config.json
 * and adapter_model.safetensors whose header is sound (read here as JSON, never loaded as a
 * pickle; a .bin adapter is refused), and files that match the zip's manifest.json if it has one.
 */
import fs from 'node:fs'
import path from 'node:path'
import { digestFile } from '../exports/files'

/** The adapter's shape, from its adapter_config.json. */
export interface AdapterShape {
  baseModel: string
  rank: number
  alpha: number
  targetModules: string | string[]
  dora: boolean
  rslora: boolean
}

/** An unpacked adapter that is not one the library can keep; the message says what is wrong. */
export class AdapterRefused extends Error {}

// safetensors' dtypes; anything else is not a file the trainer or PEFT reads.
const dtypes = new Set(['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL', 'F8_E4M3', 'F8_E5M2'])
const maxHeaderBytes = 100 * 1024 ** 2

/**
 * The folder of ``staging`` that holds the adapter: the root, or adapter/ as Tunedeck's export
 * writes it, or the one subfolder that holds adapter_config.json.
 */
export function findAdapterFolder(staging: string, zipName: string): string {
  const candidates = [staging, path.join(staging, 'adapter')]
  for (const entry of fs.readdirSync(staging, { withFileTypes: true }))
    if (entry.isDirectory()) candidates.push(path.join(staging, entry.name))
  const found = candidates.find((folder) => fs.existsSync(path.join(folder, 'adapter_config.json')))
  if (!found)
    throw new AdapterRefused(`${zipName} holds no adapter_config.json: it is not a LoRA adapter (a Tunedeck export keeps it in adapter/).`)
  if (!fs.existsSync(path.join(found, 'adapter_model.safetensors'))) {
    const pickle = fs.existsSync(path.join(found, 'adapter_model.bin'))
    throw new AdapterRefused(
      pickle
        ? `${zipName} holds adapter_model.bin, a pickle, which Tunedeck never loads: save the adapter as safetensors (save_pretrained(safe_serialization=True)) and zip it again.`
        : `${zipName} holds adapter_config.json but no adapter_model.safetensors beside it.`,
    )
  }
  return found
}

/** Reads adapter_config.json: a LoRA config with rank, alpha, target modules and base model. */
export function readShape(folder: string, zipName: string): AdapterShape {
  const file = path.join(folder, 'adapter_config.json')
  let config: Record<string, unknown>
  try {
    config = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch (error) {
    throw new AdapterRefused(`${zipName}: adapter_config.json is not JSON (${(error as Error).message}).`)
  }
  const wrong = (field: string, want: string) => new AdapterRefused(`${zipName}: adapter_config.json field "${field}" ${want}.`)
  if (config.peft_type !== undefined && config.peft_type !== 'LORA')
    throw wrong('peft_type', `is ${JSON.stringify(config.peft_type)}, not LORA: only LoRA adapters are kept`)
  if (!Number.isInteger(config.r) || (config.r as number) < 1) throw wrong('r', 'must be the LoRA rank, a whole number')
  if (typeof config.lora_alpha !== 'number') throw wrong('lora_alpha', 'must be a number')
  const targets = config.target_modules
  if (!(typeof targets === 'string' || (Array.isArray(targets) && targets.every((name) => typeof name === 'string')))) {
    throw wrong('target_modules', 'must be a module name or a list of them')
  }
  if (typeof config.base_model_name_or_path !== 'string' || !config.base_model_name_or_path) {
    throw wrong('base_model_name_or_path', 'must name the base model the adapter was trained on')
  }
  return {
    baseModel: config.base_model_name_or_path,
    rank: config.r as number,
    alpha: config.lora_alpha,
    targetModules: targets as string | string[],
    dora: config.use_dora === true,
    rslora: config.use_rslora === true,
  }
}

/** Checks a safetensors file's header: its length, JSON, dtypes and that every tensor lies inside the file. */
export function checkSafetensors(file: string, zipName: string): number {
  const refuse = (why: string) =>
    new AdapterRefused(`${zipName}: ${path.basename(file)} ${why}; it is not a safetensors file the trainer can read.`)
  const size = fs.statSync(file).size
  const descriptor = fs.openSync(file, 'r')
  try {
    const prefix = Buffer.alloc(8)
    if (size < 8 || fs.readSync(descriptor, prefix, 0, 8, 0) !== 8) throw refuse('is shorter than its header')
    const length = Number(prefix.readBigUInt64LE(0))
    if (length > maxHeaderBytes || 8 + length > size) throw refuse(`declares a ${length}-byte header in a ${size}-byte file`)
    const header = Buffer.alloc(length)
    fs.readSync(descriptor, header, 0, length, 8)
    let parsed: Record<string, { dtype?: unknown; shape?: unknown; data_offsets?: unknown }>
    try {
      parsed = JSON.parse(header.toString('utf8')) as typeof parsed
    } catch {
      throw refuse('has a header that is not JSON')
    }
    const data = size - 8 - length
    let tensors = 0
    for (const [name, tensor] of Object.entries(parsed)) {
      if (name === '__metadata__') continue
      const offsets = tensor.data_offsets
      if (!dtypes.has(String(tensor.dtype)) || !Array.isArray(tensor.shape) || !Array.isArray(offsets) || offsets.length !== 2) {
        throw refuse(`has tensor "${name}" without a known dtype, shape and offsets`)
      }
      const [begin, end] = offsets as [number, number]
      if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end < begin || end > data)
        throw refuse(`has tensor "${name}" outside the file`)
      tensors++
    }
    if (tensors === 0) throw refuse('holds no tensors')
    return tensors
  } finally {
    fs.closeSync(descriptor)
  }
}

/** When the zip has manifest.json (a Tunedeck export), every file it lists must match it. */
export async function checkManifest(staging: string, zipName: string): Promise<void> {
  const file = path.join(staging, 'manifest.json')
  if (!fs.existsSync(file)) return
  let listed: Array<{ path: string; bytes: number; sha256: string }>
  try {
    listed = (JSON.parse(fs.readFileSync(file, 'utf8')) as { files: typeof listed }).files
    if (!Array.isArray(listed)) throw new Error('no files')
  } catch {
    throw new AdapterRefused(`${zipName}: manifest.json cannot be read: the export is damaged.`)
  }
  for (const expected of listed) {
    const full = path.resolve(staging, String(expected.path))
    if (!full.startsWith(staging + path.sep) || !fs.existsSync(full))
      throw new AdapterRefused(`${zipName}: ${expected.path} is in manifest.json but not in the zip.`)
    const { sha256 } = await digestFile(full)
    if (sha256 !== expected.sha256)
      throw new AdapterRefused(`${zipName}: ${expected.path} does not match manifest.json (its SHA-256 differs): the export is damaged.`)
  }
}
