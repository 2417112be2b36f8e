/**
 * Unpacks an untrusted zip into a staging folder, refusing anything a hostile or broken archive
 * could do: paths that leave the folder (absolute, `..`, backslashes, drive letters: yauzl's
 * strict names), symbolic links, too many entries or bytes, a zip bomb's compression ratio, a
 * bad CRC, a truncated archive. Nothing is written outside ``staging``; on refusal the caller
 * removes it.
 */
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'
import zlib from 'node:zlib'
import yauzl from 'yauzl'

/** What an import accepts at most. */
export interface UnzipLimits {
  entries: number
  /** Uncompressed bytes of all entries together. */
  bytes: number
  /** Uncompressed over compressed size of one entry, checked for entries of at least ``ratioFromBytes``. */
  ratio: number
  ratioFromBytes: number
}

/** An adapter of a 70B model at rank 256 stays under 16 GiB; tokenizer files and cards are few. */
export const defaultUnzipLimits: UnzipLimits = { entries: 500, bytes: 16 * 1024 ** 3, ratio: 100, ratioFromBytes: 1024 ** 2 }

/** A zip refused for what it holds; the message names the zip and the entry. */
export class ZipRefused extends Error {}

const symlinkType = 0o120000
const fileTypeMask = 0o170000
const regularType = 0o100000
const directoryType = 0o040000

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false, strictFileNames: true, validateEntrySizes: true }, (error, zip) =>
      error ? reject(error) : resolve(zip),
    ),
  )
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (error, stream) => (error ? reject(error) : resolve(stream))))
}

/** The entry's Unix file type when the zip records one (made on Unix), else null. */
function unixType(entry: yauzl.Entry): number | null {
  const madeOnUnix = entry.versionMadeBy >> 8 === 3
  const mode = (entry.externalFileAttributes >>> 16) & fileTypeMask
  return madeOnUnix && mode !== 0 ? mode : null
}

/** Checks one entry's header before any of it is read; returns the relative path to write. */
function checkEntry(zipFile: string, entry: yauzl.Entry, limits: UnzipLimits): string {
  const name = entry.fileName
  const refuse = (why: string) => new ZipRefused(`${zipFile}: entry "${name}" ${why}; the zip was not imported.`)
  // yauzl refuses these already with strictFileNames; checked again so no later change can let one through.
  if (name.includes('\\') || name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.split('/').includes('..')) {
    throw refuse('has a path that leaves the folder')
  }
  const type = unixType(entry)
  if (type === symlinkType) throw refuse('is a symbolic link')
  if (type !== null && type !== regularType && type !== directoryType) throw refuse('is not a plain file')
  if (entry.isEncrypted()) throw refuse('is encrypted')
  const compressed = Math.max(entry.compressedSize, 1)
  if (entry.uncompressedSize >= limits.ratioFromBytes && entry.uncompressedSize / compressed > limits.ratio) {
    throw refuse(`expands ${Math.round(entry.uncompressedSize / compressed)} times (more than ${limits.ratio}): it looks like a zip bomb`)
  }
  return name
}

/** Counts the bytes and computes the CRC-32 of an entry as it streams to disk. */
function checker(zipFile: string, entry: yauzl.Entry) {
  let crc = 0
  let bytes = 0
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      crc = zlib.crc32(chunk, crc)
      bytes += chunk.length
      done(null, chunk)
    },
    flush(done) {
      if (bytes !== entry.uncompressedSize) {
        return done(
          new ZipRefused(
            `${zipFile}: entry "${entry.fileName}" holds ${bytes} bytes, not the ${entry.uncompressedSize} it declares; the zip is damaged.`,
          ),
        )
      }
      if (crc >>> 0 !== entry.crc32 >>> 0) {
        return done(
          new ZipRefused(`${zipFile}: entry "${entry.fileName}" fails its CRC check; the zip is damaged: export or download it again.`),
        )
      }
      done()
    },
  })
  return transform
}

/** yauzl's and the file system's errors, said as a refusal of the zip. */
function refusal(zipFile: string, error: unknown): Error {
  if (error instanceof ZipRefused) return error
  const message = (error as Error).message ?? String(error)
  const unsafe = /^(absolute path|invalid relative path|invalid characters in fileName): (.*)$/s.exec(message)
  if (unsafe)
    return new ZipRefused(`${zipFile}: entry "${unsafe[2]}" has a path that leaves the folder (${unsafe[1]}); the zip was not imported.`)
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'EEXIST') return new ZipRefused(`${zipFile}: an entry appears twice; the zip was not imported.`)
  if (code === 'ENOSPC') return new ZipRefused(`${zipFile}: the disk is full while unpacking; free some space and import again.`)
  return new ZipRefused(`${zipFile} is not a readable zip (${message}): it may be truncated or damaged; export or download it again.`)
}

/**
 * Unpacks ``zipFile`` into ``staging`` (created, must not exist). Resolves with the files
 * written (relative, forward slashes); rejects with a ZipRefused naming the zip and entry.
 */
export async function unzipSafely(zipFile: string, staging: string, limits: UnzipLimits = defaultUnzipLimits): Promise<string[]> {
  let zip: yauzl.ZipFile
  try {
    zip = await openZip(zipFile)
  } catch (error) {
    throw refusal(zipFile, error)
  }
  const written: string[] = []
  try {
    if (zip.entryCount > limits.entries) {
      throw new ZipRefused(
        `${zipFile} has ${zip.entryCount} entries, more than the ${limits.entries} an adapter needs; the zip was not imported.`,
      )
    }
    fs.mkdirSync(staging)
    const root = fs.realpathSync(staging)
    let total = 0
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject)
      zip.on('end', () => resolve())
      zip.on('entry', (entry: yauzl.Entry) => {
        void (async () => {
          const name = checkEntry(zipFile, entry, limits)
          total += entry.uncompressedSize
          if (total > limits.bytes) {
            throw new ZipRefused(
              `${zipFile} unpacks to more than ${limits.bytes} bytes, more than an adapter needs; the zip was not imported.`,
            )
          }
          const target = path.resolve(root, name)
          if (target !== root && !target.startsWith(root + path.sep)) throw new ZipRefused(`${zipFile}: entry "${name}" leaves the folder`)
          if (name.endsWith('/')) fs.mkdirSync(target, { recursive: true })
          else {
            fs.mkdirSync(path.dirname(target), { recursive: true })
            // 'wx': a name seen twice, or a link planted by an earlier entry, is never followed or overwritten.
            await pipeline(await openEntry(zip, entry), checker(zipFile, entry), fs.createWriteStream(target, { flags: 'wx', mode: 0o644 }))
            written.push(name)
          }
          zip.readEntry()
        })().catch(reject)
      })
      zip.readEntry()
    })
  } catch (error) {
    throw refusal(zipFile, error)
  } finally {
    zip.close()
  }
  return written.sort()
}
