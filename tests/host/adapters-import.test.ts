/**
 * Importing an adapter zip: a sound one lands in the library (and says which base it needs
 * when that base is not here); every bad zip of a corpus of hostile and broken archives is
 * refused with a message naming the problem, and nothing is left in the library or outside it: the
 * whole temporary tree (the data folder, its staging folders, the zips) is the same before and after.
 */
import fs from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { AdapterService } from '../../electron/host/adapters/service'
import { digestBuffer } from '../../electron/host/exports/files'
import { manifestOf } from '../../electron/host/exports/zip'
import { adapterFiles, renameInZip, treeSnapshot, zipOf, writeFile, type TestEntry } from './adapters.helpers'
import { temporaryDir } from './jobs.harness'

const root = temporaryDir('tunedeck-adapters-import-')
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

let dataDir: string
let zips: string
beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(root, 'data-'))
  zips = fs.mkdtempSync(path.join(root, 'zips-'))
})

function service(limits?: ConstructorParameters<typeof AdapterService>[0]['unzipLimits']): AdapterService {
  return new AdapterService({
    dataDir,
    appVersion: 'test',
    pythonRuntimeDir: '',
    resolvePython: () => Promise.reject(new Error('an import runs no Python')),
    getJob: () => Promise.reject(new Error('no jobs here')),
    unzipLimits: limits,
  })
}

function adapterEntries(seed = 1, prefix = ''): TestEntry[] {
  return Object.entries(adapterFiles({ seed })).map(([name, data]) => ({ name: `${prefix}${name}`, data }))
}

/** What is left in the library folder: nothing after a refusal, not even a staging folder. */
function libraryContents(): string[] {
  const folder = path.join(dataDir, 'adapters')
  return fs.existsSync(folder) ? fs.readdirSync(folder) : []
}

async function importError(file: string, limits?: Parameters<typeof service>[0]): Promise<string> {
  const before = treeSnapshot(root)
  const error = await service(limits)
    .import({ path: file })
    .then(
      () => null,
      (caught: unknown) => caught as { code?: string; message: string; data?: { fields?: Record<string, string> } },
    )
  if (error === null) throw new Error(`${file} was imported`)
  expect(error.code).toBe('invalid_input')
  expect(error.data?.fields).toHaveProperty('path')
  expect(libraryContents()).toEqual([])
  // Not one guessed path: nothing anywhere under the test's folder was added, changed or removed
  // ("../../x" from the staging folder is the data folder, not the test's root).
  expect(treeSnapshot(root)).toEqual({ ...before, [path.relative(root, path.join(dataDir, 'adapters'))]: 'folder' })
  return error.message
}

describe('adapters.import', () => {
  it('keeps a sound adapter zip, with its shape, and says the base it needs is not here', async () => {
    const file = writeFile(
      path.join(zips, 'friend.zip'),
      await zipOf([...adapterEntries(1, 'adapter/'), { name: 'README.md', data: Buffer.from('# hi') }]),
    )
    const imported = await service().import({ path: file })
    expect(imported).toMatchObject({
      name: 'friend',
      source: 'imported',
      baseModel: 'tunedeck-test/absent-base',
      baseAvailable: false,
      rank: 2,
      alpha: 4,
      targetModules: ['q_proj', 'v_proj'],
      examples: 1,
      examplesKnown: false,
    })
    const folder = path.join(dataDir, 'adapters', imported.id)
    expect(fs.readdirSync(folder).sort()).toEqual([
      'README.md',
      'adapter.json',
      'adapter_config.json',
      'adapter_model.safetensors',
      'state.json',
      'tokenizer_config.json',
    ])
    expect(fs.readFileSync(path.join(folder, 'README.md'), 'utf8')).toContain('not recorded in the zip; 1 stands in')
    expect(
      service()
        .list()
        .map((adapter) => adapter.id),
    ).toEqual([imported.id])
  })

  it('reads its own export back with the examples count, and finds the base on this machine', async () => {
    const base = fs.mkdtempSync(path.join(root, 'base-'))
    const files = adapterFiles({ seed: 2, baseModel: base })
    const record = { examples: 240, examplesKnown: true }
    const file = writeFile(
      path.join(zips, 'library.zip'),
      await zipOf([
        ...Object.entries(files).map(([name, data]) => ({ name: `adapter/${name}`, data })),
        { name: 'adapter.json', data: Buffer.from(JSON.stringify(record)) },
      ]),
    )
    const imported = await service().import({ path: file, name: 'From the office' })
    expect(imported).toMatchObject({ name: 'From the office', baseModel: base, baseAvailable: true, examples: 240, examplesKnown: true })
    // With the base gone, the export holds the adapter and its card, without the steps that read the base.
    fs.rmSync(base, { recursive: true })
    const exported = await service().export({ adapterId: imported.id, destination: path.join(zips, 'again.zip') })
    expect(exported.prepared).toBe(false)
    const again = await service().import({ path: exported.path })
    expect(again).toMatchObject({ examples: 240, examplesKnown: true, rank: 2 })
    const weights = (id: string) => fs.readFileSync(path.join(dataDir, 'adapters', id, 'adapter_model.safetensors'))
    expect(weights(again.id).equals(weights(imported.id))).toBe(true)
  })

  it("keeps a job export's examples count from its manifest.json, so it weighs as it trained", async () => {
    const entries = Object.entries(adapterFiles({ seed: 4 })).map(([name, data]) => ({
      name: `adapter/${name}`,
      data,
      bytes: data.length,
      sha256: digestBuffer(data),
    }))
    const manifest = Buffer.from(JSON.stringify(manifestOf(entries, 494)))
    const file = writeFile(path.join(zips, 'job-export.zip'), await zipOf([...entries, { name: 'manifest.json', data: manifest }]))
    expect(await service().import({ path: file })).toMatchObject({ name: 'job-export', examples: 494, examplesKnown: true })
  })

  it("imports a zip uploaded as a stream (a browser's picker or drop), under its own name, and refuses what is not a zip", async () => {
    const zip = await zipOf(adapterEntries(5, 'adapter/'))
    const imported = await service().importStream(Readable.from([zip]), 'from the browser.zip', zip.length)
    expect(imported).toMatchObject({ name: 'from the browser', source: 'imported', rank: 2 })
    await expect(service().importStream(Readable.from([zip]), 'big.zip', zip.length - 1)).rejects.toMatchObject({
      message: expect.stringContaining('big.zip'),
    })
    await expect(service().importStream(Readable.from([zip]), 'notes.txt', zip.length)).rejects.toMatchObject({
      code: 'invalid_input',
      message: 'name: notes.txt is not a .zip: choose an adapter zip.',
    })
    // Only the imported adapter is left: no staging folder of the refused uploads.
    expect(libraryContents()).toEqual([imported.id])
  })

  describe('refuses, writing nothing', () => {
    it.each([
      ['a parent-folder entry', 'adapter/evil.txtX', '../../escaped.txt', /leaves the folder/],
      ['an absolute path', 'Xtmp/escaped.txt', '/tmp/escaped.txt', /absolute path|leaves the folder/],
      ['a backslash', 'adapterX..Xevil.t', 'adapter\\..\\evil.t', /leaves the folder/],
      ['a drive letter', 'C_/escaped.txt', 'C:/escaped.txt', /absolute path|leaves the folder/],
    ])('%s', async (_label, placeholder, hostile, message) => {
      const good = await zipOf([...adapterEntries(), { name: placeholder, data: Buffer.from('owned') }])
      const file = writeFile(path.join(zips, 'hostile.zip'), renameInZip(good, placeholder, hostile))
      expect(await importError(file)).toMatch(message) // which also compares the whole tree before and after
      expect(fs.existsSync('/tmp/escaped.txt')).toBe(false) // the absolute path, outside the test's tree
    })

    it('a symbolic link', async () => {
      const file = writeFile(
        path.join(zips, 'link.zip'),
        await zipOf([{ name: 'adapter_config.json', data: Buffer.from('/etc/passwd'), mode: 0o120777 }, ...adapterEntries().slice(0, 1)]),
      )
      expect(await importError(file)).toMatch(/"adapter_config.json" is a symbolic link/)
    })

    it('more entries than an adapter needs', async () => {
      const many = Array.from({ length: 501 }, (_, index) => ({ name: `junk/${index}.txt`, data: Buffer.from('x') }))
      const file = writeFile(path.join(zips, 'many.zip'), await zipOf([...adapterEntries(), ...many]))
      expect(await importError(file)).toMatch(/has 504 entries, more than the 500/)
    })

    it('more bytes than the limit', async () => {
      const file = writeFile(
        path.join(zips, 'big.zip'),
        await zipOf([...adapterEntries(), { name: 'big.bin', data: Buffer.alloc(300_000, 7) }]),
      )
      expect(await importError(file, { entries: 100, bytes: 200_000, ratio: 1000, ratioFromBytes: 1e9 })).toMatch(
        /unpacks to more than 200000 bytes/,
      )
    })

    it('a zip bomb', async () => {
      const zeros = Buffer.alloc(20 * 1024 ** 2)
      const file = writeFile(
        path.join(zips, 'bomb.zip'),
        await zipOf([{ name: 'adapter_model.safetensors', data: zeros, compress: true }, ...adapterEntries().slice(1)]),
      )
      expect(fs.statSync(file).size).toBeLessThan(100_000)
      expect(await importError(file)).toMatch(/"adapter_model.safetensors" expands \d+ times .* zip bomb/)
    })

    it('a bad CRC', async () => {
      const good = await zipOf(adapterEntries())
      const damaged = Buffer.from(good)
      const at = damaged.indexOf(Buffer.from('"model_max_length"'))
      damaged.write('"model_max_lengtH"', at, 'latin1')
      const file = writeFile(path.join(zips, 'crc.zip'), damaged)
      expect(await importError(file)).toMatch(/"tokenizer_config.json" fails its CRC check/)
    })

    it('a truncated archive', async () => {
      const good = await zipOf(adapterEntries())
      const file = writeFile(path.join(zips, 'cut.zip'), good.subarray(0, Math.floor(good.length * 0.6)))
      expect(await importError(file)).toMatch(/is not a readable zip .* truncated or damaged/)
    })

    it('a file that is not a zip', async () => {
      const file = writeFile(path.join(zips, 'text.zip'), Buffer.from('just text, no archive'))
      expect(await importError(file)).toMatch(/is not a readable zip/)
    })

    it('an entry whose sizes disagree between its headers', async () => {
      const good = await zipOf([...adapterEntries(), { name: 'notes.txt', data: Buffer.from('a'.repeat(5000)), compress: false }])
      const damaged = Buffer.from(good)
      // The central header claims more bytes than the stored entry holds.
      const central = damaged.lastIndexOf(Buffer.from('notes.txt')) - 46
      damaged.writeUInt32LE(6000, central + 24)
      const file = writeFile(path.join(zips, 'sizes.zip'), damaged)
      expect(await importError(file)).toMatch(/size mismatch .* truncated or damaged/)
    })

    it('the same entry twice', async () => {
      const file = writeFile(path.join(zips, 'twice.zip'), await zipOf([...adapterEntries(), ...adapterEntries(2).slice(0, 1)]))
      expect(await importError(file)).toMatch(/appears twice/)
    })

    it('pickled weights, never loading them', async () => {
      const [, config] = adapterEntries()
      const file = writeFile(
        path.join(zips, 'pickle.zip'),
        await zipOf([config as TestEntry, { name: 'adapter_model.bin', data: Buffer.from('\x80\x04cos\nsystem\n') }]),
      )
      expect(await importError(file)).toMatch(/adapter_model.bin, a pickle, which Tunedeck never loads/)
    })

    it('a safetensors file whose tensors run past its end', async () => {
      const entries = adapterEntries()
      const weights = entries[0] as TestEntry
      const file = writeFile(
        path.join(zips, 'short.zip'),
        await zipOf([{ ...weights, data: weights.data.subarray(0, weights.data.length - 16) }, ...entries.slice(1)]),
      )
      expect(await importError(file)).toMatch(/adapter_model.safetensors has tensor ".*" outside the file/)
    })

    it('a file that differs from the manifest', async () => {
      const manifest = {
        format: 'tunedeck-export',
        version: 1,
        files: [{ path: 'adapter/adapter_config.json', bytes: 3, sha256: '0'.repeat(64) }],
      }
      const file = writeFile(
        path.join(zips, 'manifest.zip'),
        await zipOf([...adapterEntries(1, 'adapter/'), { name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }]),
      )
      expect(await importError(file)).toMatch(/adapter\/adapter_config.json does not match manifest.json/)
    })

    it('a zip with no adapter in it', async () => {
      const file = writeFile(path.join(zips, 'empty.zip'), await zipOf([{ name: 'README.md', data: Buffer.from('# nothing') }]))
      expect(await importError(file)).toMatch(/holds no adapter_config.json/)
    })
  })
})
