/**
 * The wire format of a save_to_disk folder uploaded from a browser (POST /upload/dataset?folder=tar):
 * one uncompressed ustar archive of the folder's files. A page cannot post a folder, so the
 * renderer packs it here; the host unpacks it with npm's `tar` (datasets/unpack.ts). The archive
 * is a Blob of headers and the Files themselves, so nothing is read into the page: the browser
 * streams each file from disk as the request goes out.
 */

/** One file of the folder: its path inside the folder ("train/data-00000-of-00001.arrow") and its bytes. */
export interface FolderFile {
  path: string
  file: File
}

const block = 512
const encoder = new TextEncoder()

/** Writes `text` (ASCII or UTF-8) into `header` at `offset`, at most `length` bytes. */
function put(header: Uint8Array, offset: number, length: number, text: string): void {
  header.set(encoder.encode(text).subarray(0, length), offset)
}

/** An octal field: `length - 1` digits and a NUL, as ustar wants. */
function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`
}

/** The ustar name and prefix of a path: the name at most 100 bytes, the rest (up to a slash) in the 155-byte prefix. */
function splitPath(path: string): { name: string; prefix: string } {
  if (encoder.encode(path).length <= 100) return { name: path, prefix: '' }
  for (let slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
    const prefix = path.slice(0, slash)
    const name = path.slice(slash + 1)
    if (encoder.encode(prefix).length <= 155 && encoder.encode(name).length <= 100) return { name, prefix }
  }
  throw new Error(
    `${path}: the path is too long to upload inside a folder (at most 255 bytes); rename it, or import the folder in the desktop app.`,
  )
}

/** The 512-byte header of one regular file. */
export function tarHeader(path: string, size: number, modified: number): Uint8Array<ArrayBuffer> {
  // 11 octal digits hold sizes below 8 GiB; the upload limit is lower than that anyway.
  if (size >= 8 ** 11)
    throw new Error(`${path} is 8 GiB or larger: import this folder in the desktop app, or from the computer running Tunedeck.`)
  const header = new Uint8Array(block)
  const { name, prefix } = splitPath(path)
  put(header, 0, 100, name)
  put(header, 100, 8, octal(0o644, 8))
  put(header, 108, 8, octal(0, 8))
  put(header, 116, 8, octal(0, 8))
  put(header, 124, 12, octal(size, 12))
  put(header, 136, 12, octal(Math.max(0, Math.floor(modified / 1000)), 12))
  put(header, 148, 8, '        ') // the checksum counts its own field as spaces
  put(header, 156, 1, '0')
  put(header, 257, 6, 'ustar\0')
  put(header, 263, 2, '00')
  put(header, 345, 155, prefix)
  const sum = header.reduce((total, byte) => total + byte, 0)
  put(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `)
  return header
}

/** The folder as a tar: each file's header, its bytes and the padding to a whole block, then two empty blocks. */
export function tarOf(files: readonly FolderFile[]): Blob {
  const parts: Array<Blob | Uint8Array<ArrayBuffer>> = []
  for (const { path, file } of files) {
    parts.push(tarHeader(path, file.size, file.lastModified), file)
    const padding = (block - (file.size % block)) % block
    if (padding > 0) parts.push(new Uint8Array(padding))
  }
  parts.push(new Uint8Array(block * 2))
  return new Blob(parts, { type: 'application/x-tar' })
}
