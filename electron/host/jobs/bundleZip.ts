/**
 * A bundle folder packed as one zip, for a browser to download (the page's "Bundle for a
 * cluster" in a browser, where the folder is on the serve machine). Entries keep the folder's
 * name as their top folder and each file's mode (torchrun.sh stays executable); the zip is
 * written beside itself as .partial and renamed, so a failure leaves no half zip.
 */
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import yazl from 'yazl'

function filesUnder(root: string, relative = ''): string[] {
  const found: string[] = []
  for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true })) {
    const name = relative ? `${relative}/${entry.name}` : entry.name
    if (entry.isDirectory()) found.push(...filesUnder(root, name))
    else if (entry.isFile()) found.push(name)
  }
  return found.sort()
}

/** Packs `folder` into `zipFile` (which must not exist) and returns `zipFile`. */
export async function zipFolder(folder: string, zipFile: string): Promise<string> {
  if (fs.existsSync(zipFile)) throw new Error(`${zipFile} exists already; name a new folder for the bundle`)
  const top = path.basename(folder)
  const zip = new yazl.ZipFile()
  for (const name of filesUnder(folder)) {
    const source = path.join(folder, name)
    zip.addFile(source, `${top}/${name}`, { mode: fs.statSync(source).mode, compress: !name.endsWith('.safetensors') })
  }
  zip.end()
  const partial = `${zipFile}.partial`
  try {
    await pipeline(zip.outputStream, fs.createWriteStream(partial, { mode: 0o600 }))
    fs.renameSync(partial, zipFile)
  } finally {
    fs.rmSync(partial, { force: true })
  }
  return zipFile
}
