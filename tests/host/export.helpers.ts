/** Reading an export's zip back in tests, with yauzl (the reader the app verifies with). */
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import yauzl from 'yauzl'

/** One entry: its name and compression method (0 stored, 8 deflated). */
export interface ZipListing {
  name: string
  method: number
  bytes: number
}

function open(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => yauzl.open(file, { lazyEntries: true }, (error, zip) => (error ? reject(error) : resolve(zip))))
}

/** Calls ``onEntry`` for each entry in order, then resolves. */
async function eachEntry(file: string, onEntry: (zip: yauzl.ZipFile, entry: yauzl.Entry) => Promise<void>): Promise<void> {
  const zip = await open(file)
  await new Promise<void>((resolve, reject) => {
    zip.on('error', reject)
    zip.on('end', resolve)
    zip.on('entry', (entry: yauzl.Entry) => {
      onEntry(zip, entry).then(() => zip.readEntry(), reject)
    })
    zip.readEntry()
  })
}

/** The zip's entries. */
export async function zipEntries(file: string): Promise<ZipListing[]> {
  const found: ZipListing[] = []
  await eachEntry(file, async (_zip, entry) => {
    found.push({ name: entry.fileName, method: entry.compressionMethod, bytes: entry.uncompressedSize })
  })
  return found
}

/** Unzips ``file`` into ``dir``. */
export async function extractZip(file: string, dir: string): Promise<void> {
  await eachEntry(file, async (zip, entry) => {
    const target = path.join(dir, entry.fileName)
    if (!target.startsWith(dir + path.sep)) throw new Error(`${entry.fileName} points outside the folder`)
    fs.mkdirSync(path.dirname(target), { recursive: true })
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      zip.openReadStream(entry, (error, read) => (error ? reject(error) : resolve(read))),
    )
    await pipeline(stream, fs.createWriteStream(target))
  })
}
