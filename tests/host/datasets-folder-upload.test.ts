/**
 * A save_to_disk folder uploaded from a browser: the page's tar (renderer/src/api/folderUpload.ts,
 * headers written by hand) is unpacked by the host with npm's `tar` into the library, where it is
 * the same dataset, by hash, as the folder imported from disk. A link, a path that leaves the
 * folder, a folder that save_to_disk did not write, and an upload past the limit are each refused
 * with a message, and leave nothing in datasets/. Needs TUNEDECK_PYTHON (the trainer's venv).
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import * as tar from 'tar'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHost, type Host } from '../../electron/host/host'
import { tarHeader, tarOf, type FolderFile } from '@shared/folderTar'
import { python, pythonRuntimeDir, resourcesDir, temporaryDir } from './jobs.harness'
import { treeSnapshot } from './adapters.helpers'

const workDir = temporaryDir('tunedeck-folder-upload-')
const dataDir = path.join(workDir, 'data')
const saved = path.join(workDir, 'user', 'support-chats')
let host: Host

beforeAll(async () => {
  process.env.TUNEDECK_PYTHON ??= python
  host = createHost({ dataDir, resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test' })
  await host.start()
  // A DatasetDict with a train split: dataset_dict.json beside a train/ folder of arrow files.
  const rows = Array.from({ length: 30 }, (_, index) => ({
    messages: [
      { role: 'user', content: `Hello ${index}` },
      { role: 'assistant', content: `Hi ${index}!` },
    ],
  }))
  const script =
    'import json, sys, datasets; datasets.DatasetDict({"train": datasets.Dataset.from_list(json.loads(sys.argv[1]))}).save_to_disk(sys.argv[2])'
  execFileSync(process.env.TUNEDECK_PYTHON ?? python, ['-c', script, JSON.stringify(rows), saved], { stdio: 'pipe' })
}, 120_000)

afterAll(async () => {
  await host?.shutdown()
  fs.rmSync(workDir, { recursive: true, force: true })
})

/** The files under `folder` as the page has them after a drop: relative paths and File objects. */
function filesOf(folder: string, prefix = ''): FolderFile[] {
  return fs.readdirSync(path.join(folder, prefix), { withFileTypes: true }).flatMap((entry) => {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name
    if (entry.isDirectory()) return filesOf(folder, relative)
    const full = path.join(folder, relative)
    return [{ path: relative, file: new File([fs.readFileSync(full)], entry.name, { lastModified: fs.statSync(full).mtimeMs }) }]
  })
}

function upload(body: Blob, name: string, limitBytes = 1 << 30) {
  return host.datasets.importFolderStream(Readable.fromWeb(body.stream() as never), name, limitBytes)
}

const libraryFolders = () => (fs.existsSync(path.join(dataDir, 'datasets')) ? fs.readdirSync(path.join(dataDir, 'datasets')).sort() : [])

describe('a save_to_disk folder uploaded as a tar', () => {
  it('lands as the same dataset as the folder imported from disk, its split read', async () => {
    const files = filesOf(saved)
    expect(files.map((file) => file.path).sort()).toEqual(
      expect.arrayContaining(['dataset_dict.json', 'train/state.json', 'train/dataset_info.json']),
    )
    const uploaded = await upload(tarOf(files), 'support-chats')
    expect(uploaded).toMatchObject({ duplicate: false, dataset: { fileName: 'support-chats', format: 'openai', rows: 30, usable: 30 } })
    expect(fs.readFileSync(path.join(uploaded.dataset.path, 'train', 'state.json'))).toEqual(
      fs.readFileSync(path.join(saved, 'train', 'state.json')),
    )
    // Imported from disk, the same folder is the same dataset: the hash does not depend on how it came.
    const fromDisk = await host.datasets.importPath(saved)
    expect(fromDisk).toMatchObject({ duplicate: true, dataset: { id: uploaded.dataset.id, sha256: uploaded.dataset.sha256 } })
  }, 60_000)

  it('reads a path longer than 100 bytes through the ustar prefix', async () => {
    const deep = `${'nested-folder-name/'.repeat(7)}notes.txt`
    const files = [...filesOf(saved), { path: deep, file: new File(['kept'], 'notes.txt') }]
    const uploaded = await upload(tarOf(files), 'deep-chats')
    expect(fs.readFileSync(path.join(uploaded.dataset.path, deep), 'utf8')).toBe('kept')
  }, 60_000)

  it('refuses a link, a path out of the folder, a folder save_to_disk did not write, and too many bytes, keeping nothing', async () => {
    const before = libraryFolders()
    // A link, packed by npm's tar itself.
    const linked = path.join(workDir, 'user', 'linked')
    fs.cpSync(saved, linked, { recursive: true })
    fs.symlinkSync('/etc/passwd', path.join(linked, 'passwd'))
    const chunks: Buffer[] = []
    for await (const chunk of tar.c({ cwd: linked, portable: true }, fs.readdirSync(linked)) as AsyncIterable<Buffer>) chunks.push(chunk)
    await expect(upload(new Blob(chunks), 'linked')).rejects.toMatchObject({
      message:
        'linked: passwd (a link) is not a plain file or folder inside the dataset; nothing was kept. Save the dataset again with save_to_disk and upload that folder.',
    })
    // A hand-made header that walks out of the folder.
    // Not one guessed path: no file or folder appears anywhere in the test's temporary tree (the store's
    // own files may change their contents, so the paths are compared).
    const tree = Object.keys(treeSnapshot(workDir)).sort()
    const escape = new Blob([tarHeader('../escaped.txt', 4, 0), new Uint8Array(512), new Uint8Array(1024)])
    await expect(upload(escape, 'escape')).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/^escape: /) })
    expect(Object.keys(treeSnapshot(workDir)).sort()).toEqual(tree)
    await expect(upload(tarOf([{ path: 'a.txt', file: new File(['text'], 'a.txt') }]), 'plain')).rejects.toMatchObject({
      message: expect.stringMatching(/^plain is a folder but not a dataset saved with save_to_disk/),
    })
    await expect(upload(tarOf(filesOf(saved)), 'large', 4096)).rejects.toMatchObject({
      message: expect.stringMatching(/^large is larger than the upload limit of 4 KiB/),
    })
    expect(libraryFolders()).toEqual(before)
  }, 60_000)
})
