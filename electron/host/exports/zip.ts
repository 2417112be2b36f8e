/**
 * Writes an export's zip with yazl, streamed file by file (never a whole model in memory),
 * weights stored uncompressed, zip64 where a file passes 4 GB (yazl switches by itself), and
 * reads it back with yauzl to check every entry against the manifest.
 */
import fs from 'node:fs'
import type { Writable } from 'node:stream'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createHash } from 'node:crypto'
import yauzl from 'yauzl'
import yazl from 'yazl'

/** One file of the zip: read from disk, or small text made in memory. */
export type ZipEntry =
  { name: string; source: string; bytes: number; sha256: string } | { name: string; data: Buffer; bytes: number; sha256: string }

/** manifest.json: every other file of the zip, its size and SHA-256. */
export interface Manifest {
  format: 'tunedeck-export'
  version: 1
  /** A job export: the training examples behind the adapter, its weight when it is imported and combined. */
  examples?: number
  files: Array<{ path: string; bytes: number; sha256: string }>
}

// Weights and archives do not shrink: compressing them costs time for nothing.
const storedExtensions = ['.safetensors', '.gguf', '.bin', '.pt', '.zip']

function stored(name: string): boolean {
  return storedExtensions.some((extension) => name.endsWith(extension))
}

/** The manifest of ``entries``. */
export function manifestOf(entries: ZipEntry[], examples: number | null = null): Manifest {
  const files = entries.map(({ name, bytes, sha256 }) => ({ path: name, bytes, sha256 }))
  return { format: 'tunedeck-export', version: 1, ...(examples !== null && { examples }), files }
}

/**
 * Streams ``entries`` into ``output`` as a zip. ``onBytes`` gets the zip bytes written so far.
 * Rejects with the output's error (a full disk: ENOSPC) or the signal's reason.
 */
export async function writeZip(
  entries: ZipEntry[],
  output: Writable,
  options: { onBytes?: (bytes: number) => void; signal?: AbortSignal } = {},
): Promise<number> {
  const zip = new yazl.ZipFile()
  const mtime = new Date()
  for (const entry of entries) {
    const common = { mtime, mode: 0o100644, compress: !stored(entry.name) }
    if ('source' in entry) zip.addFile(entry.source, entry.name, common)
    else zip.addBuffer(entry.data, entry.name, common)
  }
  zip.end()
  let written = 0
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      written += chunk.length
      options.onBytes?.(written)
      done(null, chunk)
    },
  })
  await pipeline(zip.outputStream, counter, output, { signal: options.signal })
  return written
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false }, (error, zip) => (error ? reject(error) : resolve(zip))),
  )
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (error, stream) => (error ? reject(error) : resolve(stream))))
}

/**
 * Reopens the zip and checks it against its own manifest.json: every listed file present with
 * its size and SHA-256, nothing unlisted. Resolves with the number of entries; rejects naming
 * the first file that differs.
 */
export async function verifyZip(file: string, signal?: AbortSignal): Promise<number> {
  const zip = await openZip(file)
  const seen = new Map<string, { bytes: number; sha256: string }>()
  let manifest: Manifest | null = null
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject)
      zip.on('end', () => resolve())
      zip.on('entry', (entry: yauzl.Entry) => {
        void (async () => {
          signal?.throwIfAborted()
          const hash = createHash('sha256')
          const chunks: Buffer[] = []
          let bytes = 0
          for await (const chunk of await openEntry(zip, entry)) {
            const data = chunk as Buffer
            hash.update(data)
            bytes += data.length
            if (entry.fileName === 'manifest.json') chunks.push(data)
          }
          if (entry.fileName === 'manifest.json') manifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Manifest
          else seen.set(entry.fileName, { bytes, sha256: hash.digest('hex') })
          zip.readEntry()
        })().catch(reject)
      })
      zip.readEntry()
    })
  } finally {
    zip.close()
  }
  const listed = (manifest as Manifest | null)?.files
  if (!listed) throw new Error(`${file} has no manifest.json`)
  for (const expected of listed) {
    const actual = seen.get(expected.path)
    if (!actual) throw new Error(`${file}: ${expected.path} is in manifest.json but not in the zip`)
    if (actual.bytes !== expected.bytes || actual.sha256 !== expected.sha256) {
      throw new Error(`${file}: ${expected.path} does not match manifest.json (${actual.bytes} bytes, SHA-256 ${actual.sha256})`)
    }
    seen.delete(expected.path)
  }
  const extra = [...seen.keys()][0]
  if (extra !== undefined) throw new Error(`${file}: ${extra} is in the zip but not in manifest.json`)
  return listed.length + 1
}

/** The default output: the .partial file, truncated, written in full or failing with the fs error. */
export function openPartial(file: string): Writable {
  return fs.createWriteStream(file, { flags: 'w' })
}
