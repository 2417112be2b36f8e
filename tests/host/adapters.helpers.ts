/** Adapters and zips built by the adapter tests: float32 safetensors written by hand, zips by yazl. */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import yazl from 'yazl'

/** A float32 matrix, row-major. */
export interface Matrix {
  rows: number
  columns: number
  data: Float32Array
}

/** Serialises float32 tensors as safetensors: an 8-byte header length, the JSON header, the data. */
export function safetensors(tensors: Record<string, Matrix>): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } }
  const parts: Buffer[] = []
  let offset = 0
  for (const [name, tensor] of Object.entries(tensors)) {
    const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength)
    header[name] = { dtype: 'F32', shape: [tensor.rows, tensor.columns], data_offsets: [offset, offset + data.length] }
    parts.push(data)
    offset += data.length
  }
  const json = Buffer.from(JSON.stringify(header))
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(json.length))
  return Buffer.concat([length, json, ...parts])
}

/** Reads back what safetensors() wrote (float32 only). */
export function readSafetensors(data: Buffer): Record<string, Matrix> {
  const length = Number(data.readBigUInt64LE(0))
  const header = JSON.parse(data.subarray(8, 8 + length).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >
  const tensors: Record<string, Matrix> = {}
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue
    const bytes = data.subarray(8 + length + entry.data_offsets[0], 8 + length + entry.data_offsets[1])
    const copy = new Float32Array(new Uint8Array(bytes).buffer)
    tensors[name] = { rows: entry.shape[0] ?? 1, columns: entry.shape[1] ?? 1, data: copy }
  }
  return tensors
}

/** A seeded matrix of small numbers (a linear congruential generator: the same numbers every run). */
export function randomMatrix(rows: number, columns: number, seed: number): Matrix {
  let state = seed >>> 0
  const data = new Float32Array(rows * columns)
  for (let index = 0; index < data.length; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    data[index] = (state / 2 ** 32 - 0.5) * 0.2
  }
  return { rows, columns, data }
}

/** ``b`` (out x r) times ``a`` (r x in). */
export function multiply(b: Matrix, a: Matrix): Matrix {
  const data = new Float32Array(b.rows * a.columns)
  for (let row = 0; row < b.rows; row++) {
    for (let column = 0; column < a.columns; column++) {
      let sum = 0
      for (let k = 0; k < b.columns; k++) sum += (b.data[row * b.columns + k] ?? 0) * (a.data[k * a.columns + column] ?? 0)
      data[row * a.columns + column] = sum
    }
  }
  return { rows: b.rows, columns: a.columns, data }
}

/** The files of a small LoRA adapter of one layer's q_proj and v_proj (hidden 8, rank ``rank``). */
export function adapterFiles(options: { seed: number; rank?: number; baseModel?: string; alpha?: number }): Record<string, Buffer> {
  const rank = options.rank ?? 2
  const tensors: Record<string, Matrix> = {}
  let seed = options.seed * 1000
  for (const module of ['q_proj', 'v_proj']) {
    const prefix = `base_model.model.model.layers.0.self_attn.${module}`
    tensors[`${prefix}.lora_A.weight`] = randomMatrix(rank, 8, seed++)
    tensors[`${prefix}.lora_B.weight`] = randomMatrix(8, rank, seed++)
  }
  const config = {
    peft_type: 'LORA',
    base_model_name_or_path: options.baseModel ?? 'tunedeck-test/absent-base',
    r: rank,
    lora_alpha: options.alpha ?? 4,
    target_modules: ['q_proj', 'v_proj'],
    use_dora: false,
    use_rslora: false,
    task_type: 'CAUSAL_LM',
  }
  return {
    'adapter_model.safetensors': safetensors(tensors),
    'adapter_config.json': Buffer.from(JSON.stringify(config, null, 2)),
    'tokenizer_config.json': Buffer.from('{"model_max_length": 64}'),
  }
}

/** One entry of a zip built by zipOf: its bytes and yazl's options (mode for links, compress for ratios). */
export interface TestEntry {
  name: string
  data: Buffer
  mode?: number
  compress?: boolean
}

/** A zip of ``entries``, as bytes. */
export async function zipOf(entries: TestEntry[]): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  for (const entry of entries)
    zip.addBuffer(entry.data, entry.name, { mode: entry.mode ?? 0o100644, compress: entry.compress ?? false, mtime: new Date(0) })
  zip.end()
  const chunks: Buffer[] = []
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Replaces every occurrence of ``from`` by ``to`` (same length): a name yazl would refuse to write, put in afterwards. */
export function renameInZip(zip: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('renameInZip keeps the length')
  const copy = Buffer.from(zip)
  const needle = Buffer.from(from)
  let found = 0
  for (let at = copy.indexOf(needle); at >= 0; at = copy.indexOf(needle, at + 1)) {
    copy.write(to, at, 'latin1')
    found++
  }
  if (found !== 2) throw new Error(`expected ${from} in the local and central headers, found it ${found} times`)
  return copy
}

/** Writes ``data`` to ``file`` and returns the file. */
export function writeFile(file: string, data: Buffer): string {
  fs.writeFileSync(file, data)
  return file
}

/**
 * Every file, folder and link under ``folder`` (relative path -> what it is: a file's sha256, "folder",
 * or a link's target), so a test can show that an operation left the whole tree as it was.
 */
export function treeSnapshot(folder: string): Record<string, string> {
  const found: Record<string, string> = {}
  for (const entry of fs.readdirSync(folder, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name)
    const relative = path.relative(folder, full)
    if (entry.isSymbolicLink()) found[relative] = `link to ${fs.readlinkSync(full)}`
    else if (entry.isDirectory()) found[relative] = 'folder'
    else found[relative] = createHash('sha256').update(fs.readFileSync(full)).digest('hex')
  }
  return found
}
