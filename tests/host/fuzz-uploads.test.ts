/**
 * The upload fuzzer: fast-check posts generated and hostile uploads to a real serve's
 * /upload/dataset (a file, or a save_to_disk folder as a tar) and /upload/adapter: random
 * bytes, tars whose entries climb out of the folder, are absolute, are links or devices, or
 * carry control characters, under hostile ?name= values. Every upload must get a JSON answer
 * that is not an internal error, nothing may appear outside the data folder, and the host must
 * serve afterwards. 300 runs by default; TUNEDECK_FUZZ_RUNS for more.
 *
 * No Python: TUNEDECK_PYTHON names a missing file, so an upload that passes every check is
 * refused at the loader's check, after what is fuzzed here.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adapterUploadPath } from '@shared/adapters'
import { datasetUploadPath } from '@shared/datasets'
import { tarHeader, tarOf } from '@shared/folderTar'
import { startWireServe, type WireServe } from './wireServe'

const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-fuzz-uploads-'))
const savedPython = process.env.TUNEDECK_PYTHON
const runs = Math.max(1, Math.round(Number(process.env.TUNEDECK_FUZZ_RUNS ?? 1000) * 0.3))
const seed = process.env.TUNEDECK_FUZZ_SEED === undefined ? undefined : Number(process.env.TUNEDECK_FUZZ_SEED)
let serve: WireServe

beforeAll(async () => {
  process.env.TUNEDECK_PYTHON = join(workDir, 'no-python')
  mkdirSync(join(workDir, 'outside'))
  serve = await startWireServe({ workDir })
})

afterAll(async () => {
  await serve?.stop()
  if (savedPython === undefined) delete process.env.TUNEDECK_PYTHON
  else process.env.TUNEDECK_PYTHON = savedPython
  rmSync(workDir, { recursive: true, force: true })
})

/** Every path under `folder`, relative to it, the data folder left out. */
function tree(folder: string, skip: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .map((entry) => join(folder, entry))
    .filter((path) => path !== skip && !path.startsWith(`${skip}/`))
    .map((path) => relative(folder, path))
    .sort()
}

/** `header` with its type flag set to `type` (1 hard link, 2 symlink, 3-4 devices, 6 FIFO) and `link` as its target, its checksum redone. */
function retyped(header: Uint8Array, type: string, link: string): Uint8Array {
  const changed = header.slice()
  changed[156] = type.charCodeAt(0)
  changed.set(new TextEncoder().encode(link).subarray(0, 100), 157)
  changed.fill(32, 148, 156)
  const sum = changed.reduce((total, byte) => total + byte, 0)
  changed.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148)
  return changed
}

const hostileNames = fc.oneof(
  fc.constantFrom(
    'train.jsonl',
    'data.csv',
    'saved',
    'adapter.zip',
    '../../outside/x.jsonl',
    '/etc/passwd',
    '..',
    '.',
    'a\u0000b.jsonl',
    'clear\u001b[2J.jsonl',
    'x'.repeat(5000),
    '__proto__',
    'constructor.jsonl',
    '%2e%2e%2fx.jsonl',
  ),
  fc.string({ unit: 'binary', maxLength: 60 }),
)
const entryPaths = fc.oneof(
  fc.constantFrom(
    'state.json',
    'dataset_dict.json',
    'train/data.arrow',
    '../escape.txt',
    '../../outside/escape.txt',
    '/tmp/absolute.txt',
    'a/../../b.txt',
    'bell\u0007.txt',
    './state.json',
  ),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }),
)

/** A tar of hostile entries; some become links, devices or FIFOs. */
const tars = fc
  .array(
    fc.tuple(
      entryPaths,
      fc.uint8Array({ maxLength: 300 }),
      fc.constantFrom('0', '0', '1', '2', '3', '6'),
      fc.constantFrom('/etc/passwd', '../../outside', 'state.json'),
    ),
    { minLength: 1, maxLength: 5 },
  )
  .map(async (entries) => {
    const parts: Uint8Array[] = []
    for (const [path, bytes, type, link] of entries) {
      let blob: Blob
      try {
        blob = tarOf([{ path, file: new File([bytes.slice()], 'x') }])
      } catch {
        continue // A path too long for ustar: the page refuses it too.
      }
      const whole = new Uint8Array(await blob.arrayBuffer())
      parts.push(
        type === '0'
          ? whole
          : new Uint8Array([...retyped(whole.subarray(0, 512), type, link), ...whole.subarray(512, whole.length - 1024)]),
      )
    }
    parts.push(new Uint8Array(1024))
    return Buffer.concat(parts)
  })
const bodies = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }).map(async (bytes) => Buffer.from(bytes)),
  fc.constantFrom(async () => Buffer.from(`${JSON.stringify({ prompt: 'Hi', completion: 'Hello' })}\n`)).map((make) => make()),
  tars,
  fc
    .tuple(fc.string({ unit: 'binary', maxLength: 90 }), fc.nat({ max: 1e9 }))
    .map(async ([path, size]) =>
      Buffer.from(
        tarHeader('x', 0, 0).map((byte, index) =>
          index < path.length
            ? path.charCodeAt(index) & 0xff
            : index >= 124 && index < 136
              ? String(size).charCodeAt(index - 124) || 0
              : byte,
        ),
      ),
    ),
)

describe('upload fuzzer', () => {
  it(`answers ${runs} hostile uploads and writes nothing outside the data folder`, async () => {
    const before = tree(workDir, serve.dataDir)
    const counts = { uploads: 0, accepted: 0 }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(datasetUploadPath, adapterUploadPath),
        hostileNames,
        fc.boolean(),
        bodies,
        async (endpoint, name, folder, body) => {
          const query = new URLSearchParams({ name, ...(folder ? { folder: 'tar' } : {}) })
          const response = await fetch(`http://127.0.0.1:${serve.server.port}${endpoint}?${query.toString()}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${serve.server.token}`, 'content-type': 'application/octet-stream' },
            body: await body,
          })
          const answer = (await response.json()) as { ok: boolean; error?: { code: string; message: string } }
          counts.uploads += 1
          if (answer.ok) counts.accepted += 1
          expect(response.status, `${endpoint} ${JSON.stringify(name).slice(0, 100)}: ${answer.error?.message}`).not.toBe(500)
          expect(answer.error?.code).not.toBe('internal')
        },
      ),
      { numRuns: runs, seed, timeout: 30_000 },
    )
    expect(tree(workDir, serve.dataDir)).toEqual(before)
    // Refused uploads leave nothing half-written in the libraries either (no staging folders).
    for (const library of ['datasets', 'adapters']) {
      const folder = join(serve.dataDir, library)
      expect(existsSync(folder) ? readdirSync(folder) : [], library).toEqual([])
    }
    expect(await serve.serving()).toBe(true)
    console.log(
      `upload fuzzer: ${counts.uploads} uploads${seed === undefined ? '' : ` (seed ${seed})`}, ${counts.accepted} accepted, none unanswered or internal, nothing written outside the data folder or left in its libraries`,
    )
  })
})
