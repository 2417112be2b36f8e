/**
 * The export's zip writer and checker on their own: a file past 4 GB goes into a zip64 archive
 * stored (not deflated), streamed with memory far below the file's size, and reads back equal
 * to its manifest; a zip whose bytes changed after writing is refused, naming the file.
 * Writes about 4.3 GB to the temporary folder (a sparse source file plus the zip).
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { digestBuffer, digestFile } from '../../electron/host/exports/files'
import { manifestOf, verifyZip, writeZip, type ZipEntry } from '../../electron/host/exports/zip'
import { temporaryDir } from './jobs.harness'
import { zipEntries } from './export.helpers'

const dir = temporaryDir('tunedeck-export-zip-')

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

function textEntry(name: string, text: string): ZipEntry {
  const data = Buffer.from(text)
  return { name, data, bytes: data.length, sha256: digestBuffer(data) }
}

async function zipWithManifest(entries: ZipEntry[], file: string): Promise<number> {
  return await writeZip([...entries, textEntry('manifest.json', JSON.stringify(manifestOf(entries)))], fs.createWriteStream(file))
}

describe('export zip', () => {
  it('streams a file past 4 GB into a zip64 archive that reads back equal to its manifest', async () => {
    const big = path.join(dir, 'model.safetensors')
    const size = 2 ** 32 + 5 * 2 ** 20 // just past the 4 GiB limit of the classic format
    fs.writeFileSync(big, 'head')
    fs.truncateSync(big, size) // sparse: the disk holds only what is written
    const tail = fs.openSync(big, 'r+')
    fs.writeSync(tail, Buffer.from('tail'), 0, 4, size - 4)
    fs.closeSync(tail)
    let peak = 0
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100)
    try {
      const entries: ZipEntry[] = [
        { name: 'merged/model.safetensors', source: big, ...(await digestFile(big)) },
        textEntry('README.md', '# a card\n'),
      ]
      const zip = path.join(dir, 'big.zip')
      const written = await zipWithManifest(entries, zip)
      expect(written).toBeGreaterThan(size)
      expect(await verifyZip(zip)).toBe(3)
      const listed = await zipEntries(zip)
      expect(listed.find((entry) => entry.name === 'merged/model.safetensors')).toEqual({
        name: 'merged/model.safetensors',
        method: 0,
        bytes: size,
      })
    } finally {
      clearInterval(sampler)
    }
    console.log(
      `zip64 of a ${(size / 2 ** 30).toFixed(2)} GiB file: peak resident memory ${(peak / 2 ** 20).toFixed(0)} MiB of this test process`,
    )
    expect(peak).toBeLessThan(1024 * 2 ** 20)
  }, 600_000)

  it('refuses a zip whose contents no longer match its manifest, naming the file', async () => {
    const entries = [textEntry('adapter/adapter_config.json', '{"r": 8}'), textEntry('config.json', '{}')]
    const zip = path.join(dir, 'small.zip')
    await writeZip(
      [...entries, textEntry('manifest.json', JSON.stringify(manifestOf([{ ...entries[0]!, sha256: '0'.repeat(64) }, entries[1]!])))],
      fs.createWriteStream(zip),
    )
    await expect(verifyZip(zip)).rejects.toThrow(/adapter\/adapter_config\.json does not match manifest\.json/)
    const withExtra = path.join(dir, 'extra.zip')
    await writeZip([...entries, textEntry('manifest.json', JSON.stringify(manifestOf([entries[1]!])))], fs.createWriteStream(withExtra))
    await expect(verifyZip(withExtra)).rejects.toThrow(/adapter\/adapter_config\.json is in the zip but not in manifest\.json/)
  })
})
