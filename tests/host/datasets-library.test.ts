/**
 * The dataset library through the host's routes with the real trainer's
 * loader: an import is copied under an id from its SHA-256 (the same bytes
 * twice are one dataset), listed with its counts and the jobs that trained
 * on it, renamed, re-checked and deleted (asking first when jobs used it, and
 * keeping the file for them). Every bad input is refused with a message
 * naming the file (and line) and leaves nothing in datasets/; uploads over
 * serve stream to disk, stop at the size limit and need the token.
 * Needs TUNEDECK_PYTHON (the trainer's venv). Several seconds.
 */
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import { request as httpRequest } from 'node:http'
import path from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatasetEntry, DatasetImportResult } from '@shared/datasets'
import { fieldErrorsOf, type AppError } from '@shared/errors'
import type { Job } from '@shared/jobs'
import { DatasetLibrary } from '../../electron/host/datasets/library'
import { createHost, type Host } from '../../electron/host/host'
import { startServer, type RunningServer } from '../../electron/host/transport/server'
import { python, pythonRuntimeDir, repoRoot, resourcesDir, temporaryDir } from './jobs.harness'
import { dispatch } from './routes'

const workDir = temporaryDir('tunedeck-library-')
const dataDir = path.join(workDir, 'data')
const datasetsDir = path.join(dataDir, 'datasets')
const sharedDatasets = path.resolve(repoRoot, '..', 'shared', 'datasets')
let host: Host
let server: RunningServer

beforeAll(async () => {
  process.env.TUNEDECK_PYTHON ??= python
  host = createHost({ dataDir, resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test' })
  await host.start()
  fs.mkdirSync(path.join(workDir, 'renderer'))
  fs.writeFileSync(path.join(workDir, 'renderer', 'index.html'), '<!doctype html>\n')
  server = await startServer(host, { port: 0, rendererDir: path.join(workDir, 'renderer'), roots: [workDir], maxUploadBytes: 64 * 1024 })
})

afterAll(async () => {
  await server?.close()
  await host?.shutdown()
  fs.rmSync(workDir, { recursive: true, force: true })
})

function writeFile(name: string, content: string | Buffer): string {
  const file = path.join(workDir, 'user', name)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, content)
  return file
}

async function call<T>(route: string, input: unknown): Promise<T> {
  const result = await dispatch(host, route, input)
  if (!result.ok) throw new Error(`${route} failed: ${result.error.message}`)
  return result.output as T
}

async function refusal(route: string, input: unknown): Promise<AppError> {
  const result = await dispatch(host, route, input)
  if (result.ok) throw new Error(`expected ${route} to fail, got ${JSON.stringify(result.output)}`)
  return result.error
}

/** What datasets/ holds, staging folders included: a failed import must add nothing. */
function libraryFolders(): string[] {
  return fs.existsSync(datasetsDir) ? fs.readdirSync(datasetsDir).sort() : []
}

const chatRow = (question: string): string =>
  JSON.stringify({
    messages: [
      { role: 'user', content: question },
      { role: 'assistant', content: `About ${question}.` },
    ],
  })

describe('importing into the library', () => {
  it('copies a file under its hash, counts its rows and lists it', async () => {
    const text = [chatRow('cats'), chatRow('dogs'), '{"messages": 5}'].join('\n') + '\n'
    const file = writeFile('chat.jsonl', text)
    const { dataset, duplicate } = await call<DatasetImportResult>('datasets.import', { path: file })
    const sha256 = createHash('sha256').update(text).digest('hex')
    expect(duplicate).toBe(false)
    expect(dataset).toMatchObject({
      name: 'chat.jsonl',
      fileName: 'chat.jsonl',
      format: 'openai',
      rows: 3,
      usable: 2,
      bad: 1,
      bytes: Buffer.byteLength(text),
      sha256,
      jobs: [],
    })
    expect(fs.readFileSync(dataset.path, 'utf8')).toBe(text)
    expect(dataset.path.startsWith(datasetsDir)).toBe(true)
    const listed = await call<DatasetEntry[]>('datasets.list', {})
    expect(listed.map((entry) => entry.id)).toContain(dataset.id)
  })

  it('keeps one dataset when the same bytes come twice, under any name', async () => {
    const text = `${chatRow('twice')}\n`
    const first = await call<DatasetImportResult>('datasets.import', { path: writeFile('once.jsonl', text) })
    const again = await call<DatasetImportResult>('datasets.import', { path: writeFile('again/once-more.jsonl', text), name: 'other' })
    expect(again).toMatchObject({ duplicate: true, dataset: { id: first.dataset.id, name: 'once.jsonl' } })
    expect(libraryFolders().filter((entry) => entry === first.dataset.id)).toHaveLength(1)
  })

  it('imports the shared demo datasets with their detected formats', async () => {
    if (!fs.existsSync(path.join(sharedDatasets, 'identity.json'))) return
    const identity = await call<DatasetImportResult>('datasets.import', { path: path.join(sharedDatasets, 'identity.json') })
    expect(identity.dataset).toMatchObject({ format: 'alpaca', rows: 91, usable: 91, bad: 0 })
    const pairs = await call<DatasetImportResult>('datasets.import', { path: path.join(sharedDatasets, 'dpo_en_demo.json') })
    expect(pairs.dataset).toMatchObject({ format: 'preference', rows: 300, usable: 300 })
  })

  it('accepts BOM and CRLF, CSV cells with quoted newlines, and a save_to_disk folder', async () => {
    const crlf = await call<DatasetImportResult>('datasets.import', {
      path: writeFile('bom.jsonl', `\uFEFF${chatRow('bom')}\r\n${chatRow('crlf')}\r\n`),
    })
    expect(crlf.dataset).toMatchObject({ format: 'openai', rows: 2, usable: 2, bad: 0 })
    const csv = await call<DatasetImportResult>('datasets.import', {
      path: writeFile('quoted.csv', 'instruction,output\n"line one\nline two","an ""answer"""\n'),
    })
    expect(csv.dataset).toMatchObject({ format: 'alpaca', rows: 1, usable: 1 })
    const saved = path.join(workDir, 'user', 'saved')
    const script = 'import json, sys, datasets; datasets.Dataset.from_list(json.loads(sys.argv[1])).save_to_disk(sys.argv[2])'
    execFileSync(process.env.TUNEDECK_PYTHON ?? python, ['-c', script, JSON.stringify([{ text: 'a' }, { text: 'b' }]), saved], {
      stdio: 'pipe',
    })
    const folder = await call<DatasetImportResult>('datasets.import', { path: saved })
    expect(folder.dataset).toMatchObject({ fileName: 'saved', format: 'text', rows: 2 })
    expect(fs.existsSync(path.join(folder.dataset.path, 'state.json'))).toBe(true)
  })
})

describe('bad inputs: a message naming the file, and nothing left in datasets/', () => {
  const cases: Array<[string, string, string | Buffer, RegExp]> = [
    ['an empty file', 'empty.jsonl', '', /empty\.jsonl: the file is empty/],
    ['JSON Lines content in a .csv', 'wrong.csv', `${chatRow('x')}\n`, /wrong\.csv: holds JSON, not CSV.*Rename it \.jsonl/],
    ['truncated JSON', 'cut.json', '[{"instruction": "a", "output": "b"}, {"instruc', /cut\.json line 1: not valid JSON/],
    [
      'a binary file',
      'image.jsonl',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe, 0x00, 0x01]),
      /image\.jsonl: not UTF-8 text/,
    ],
    ['an unknown extension', 'notes.docx', 'hello', /notes\.docx: unsupported file type \.docx/],
  ]
  for (const [what, name, content, message] of cases) {
    it(`refuses ${what}`, async () => {
      const before = libraryFolders()
      const error = await refusal('datasets.import', { path: writeFile(name, content) })
      expect(error.code).toBe('invalid_input')
      expect(error.message).toMatch(message)
      expect(error.message).toContain('Nothing was imported')
      expect(libraryFolders()).toEqual(before)
    })
  }

  it('refuses a folder that is not save_to_disk, and a missing file, naming path', async () => {
    const before = libraryFolders()
    const folder = path.join(workDir, 'user', 'plain')
    fs.mkdirSync(folder, { recursive: true })
    fs.writeFileSync(path.join(folder, 'a.txt'), 'text')
    expect(fieldErrorsOf(await refusal('datasets.import', { path: folder })).path).toMatch(/not a save_to_disk folder/)
    expect(fieldErrorsOf(await refusal('datasets.import', { path: path.join(workDir, 'nowhere.jsonl') })).path).toMatch(/no file at/)
    expect(libraryFolders()).toEqual(before)
  })

  it('leaves nothing when a stream breaks part way (a cancelled upload, a file gone mid-copy)', async () => {
    const before = libraryFolders()
    const broken = new Readable({
      read() {
        this.push(`${chatRow('partial')}\n`)
        this.destroy(Object.assign(new Error('read failed'), { code: 'ENOENT' }))
      },
    })
    await expect(host.datasets.importStream(broken, 'gone.jsonl', 1 << 20)).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/gone\.jsonl disappeared/),
    })
    expect(libraryFolders()).toEqual(before)
  })
})

describe('more bad inputs', () => {
  it('refuses a Parquet file whose columns have the wrong types, naming the row and field', async () => {
    const file = path.join(workDir, 'user', 'typed.parquet')
    fs.mkdirSync(path.dirname(file), { recursive: true })
    const script =
      'import sys, pyarrow, pyarrow.parquet as pq; pq.write_table(pyarrow.table({"instruction": [1, 2], "output": [3, 4]}), sys.argv[1])'
    execFileSync(process.env.TUNEDECK_PYTHON ?? python, ['-c', script, file], { stdio: 'pipe' })
    const before = libraryFolders()
    const error = await refusal('datasets.import', { path: file })
    expect(error.message).toMatch(
      /typed\.parquet: no usable rows \(2 read\); the first problem: typed\.parquet row 1: field "instruction": expected a string, got a number \(1\)/,
    )
    expect(libraryFolders()).toEqual(before)
  })

  it('imports mixed row shapes as the most common shape, naming each other row by line', async () => {
    const file = writeFile('mixed.jsonl', [chatRow('a'), chatRow('b'), '{"instruction": "x", "output": "y"}'].join('\n') + '\n')
    const { dataset } = await call<DatasetImportResult>('datasets.import', { path: file })
    expect(dataset).toMatchObject({ format: 'openai', rows: 3, usable: 2, bad: 1 })
    const shown = await call<{ errors: Array<{ row: number; field: string; message: string }> }>('datasets.preview', { path: dataset.path })
    expect(shown.errors).toEqual([
      expect.objectContaining({
        row: 3,
        field: 'messages',
        message: expect.stringContaining('mixed.jsonl line 3: field "messages": missing'),
      }),
    ])
  })

  it('imports a file whose single line is 100 MB', { timeout: 120_000 }, async () => {
    const text = JSON.stringify({ text: 'long '.repeat(20 * 1024 * 1024) })
    const { dataset } = await call<DatasetImportResult>('datasets.import', { path: writeFile('one-line.jsonl', text) })
    expect(dataset).toMatchObject({ format: 'text', rows: 1, usable: 1, bytes: Buffer.byteLength(text) })
    await call('datasets.delete', { datasetId: dataset.id })
  })

  it('refuses a file that changes while it is copied, keeping nothing', async () => {
    const file = writeFile('growing.jsonl', `${chatRow('grow')}\n`.repeat(200_000))
    const before = libraryFolders()
    // The import reads the file's size first, synchronously; the append lands during the copy.
    const importing = host.datasets.importPath(file)
    fs.appendFileSync(file, `${chatRow('late')}\n`)
    await expect(importing).rejects.toMatchObject({
      message: expect.stringMatching(/growing\.jsonl changed while it was being imported .* nothing was kept/),
    })
    expect(libraryFolders()).toEqual(before)
  })

  it('leaves nothing when the disk fills up during the copy', async (context) => {
    const small = path.join(workDir, 'small-disk')
    fs.mkdirSync(small)
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small], { stdio: 'pipe' })
    } catch {
      context.skip() // needs the right to mount a 1 MiB tmpfs (root in a container)
      return
    }
    try {
      const library = new DatasetLibrary({
        dataDir: small,
        check: () => Promise.reject(new Error('the copy must fail first')),
        listJobs: () => [],
      })
      const file = writeFile('too-big.jsonl', `${chatRow('fill')}\n`.repeat(40_000))
      await expect(library.importPath(file)).rejects.toMatchObject({
        message: expect.stringMatching(/too-big\.jsonl: the disk is full while copying it .* nothing was kept/),
      })
      expect(fs.readdirSync(path.join(small, 'datasets'))).toEqual([])
    } finally {
      execFileSync('umount', [small])
    }
  })
})

describe('managing the library', () => {
  it('renames, re-checks, and deletes at once a dataset no job used', async () => {
    const { dataset } = await call<DatasetImportResult>('datasets.import', { path: writeFile('manage.jsonl', `${chatRow('manage')}\n`) })
    expect(await call<DatasetEntry>('datasets.rename', { datasetId: dataset.id, name: '  Support chats ' })).toMatchObject({
      name: 'Support chats',
    })
    const checked = await call<DatasetEntry>('datasets.recheck', { datasetId: dataset.id })
    expect(checked).toMatchObject({ name: 'Support chats', usable: 1 })
    expect(Date.parse(checked.checkedAt)).toBeGreaterThanOrEqual(Date.parse(dataset.checkedAt))
    await call('datasets.delete', { datasetId: dataset.id })
    expect(libraryFolders()).not.toContain(dataset.id)
    expect((await refusal('datasets.get', { datasetId: dataset.id })).code).toBe('not_found')
  })

  it('shows the jobs that trained on a dataset, asks before deleting it, and keeps its file for them', async () => {
    const { dataset } = await call<DatasetImportResult>('datasets.import', {
      path: writeFile('used.jsonl', `${chatRow('used')}\n${chatRow('again')}\n`),
    })
    await call('queue.set', { running: false })
    const job = await call<Job>('jobs.create', { model: { selftest: true }, dataset: { path: dataset.path }, name: 'uses it' })
    // The self-test model on a library dataset reads it as detected, not as the bundled file's alpaca.
    expect(job.config.dataset).toMatchObject({ path: dataset.path, format: 'auto', datasetId: dataset.id, sha256: dataset.sha256 })
    expect(await call<DatasetEntry>('datasets.get', { datasetId: dataset.id })).toMatchObject({
      jobs: [{ jobId: job.id, name: 'uses it' }],
    })
    const asked = await refusal('datasets.delete', { datasetId: dataset.id })
    expect(asked.code).toBe('conflict')
    expect(asked.message).toMatch(/used by 1 job\(s\) \(uses it\): confirm/)
    await call('datasets.delete', { datasetId: dataset.id, confirm: true })
    expect((await call<DatasetEntry[]>('datasets.list', {})).map((entry) => entry.id)).not.toContain(dataset.id)
    expect(fs.existsSync(dataset.path)).toBe(true)
    await call('jobs.cancel', { jobId: job.id })
    await call('queue.set', { running: true })
  })
})

/** POSTs `body` to serve's upload endpoint. */
function upload(
  name: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; json: { ok: boolean; output?: DatasetImportResult; error?: AppError } }> {
  return new Promise((done, fail) => {
    const request = httpRequest(
      {
        agent: false,
        host: '127.0.0.1',
        port: server.port,
        method: 'POST',
        path: `/upload/dataset?name=${encodeURIComponent(name)}`,
        headers,
      },
      (response) => {
        let text = ''
        response.on('data', (chunk: Buffer) => (text += chunk.toString()))
        response.on('end', () => done({ status: response.statusCode ?? 0, json: JSON.parse(text) }))
      },
    )
    request.on('error', fail)
    request.end(body)
  })
}

describe('reading a library dataset another way', () => {
  it('keeps a chosen text split and format with the dataset, for its checks and the jobs on it, and refuses one that reads no row', async () => {
    const file = writeFile('notes-to-split.txt', 'First paragraph,\nstill the first.\n\nSecond paragraph.\n')
    const { dataset } = await call<DatasetImportResult>('datasets.import', { path: file })
    expect([dataset.format, dataset.usable, dataset.reading]).toEqual(['text', 2, undefined])
    const byLine = await call<DatasetEntry>('datasets.set_reading', { datasetId: dataset.id, reading: { textSplit: 'line' } })
    expect([byLine.usable, byLine.reading]).toEqual([3, { format: 'auto', columns: {}, textSplit: 'line', csvHeader: 'auto' }])
    // A re-check reads it the kept way; so does a job on it that leaves the split alone.
    expect((await call<DatasetEntry>('datasets.recheck', { datasetId: dataset.id })).usable).toBe(3)
    await call('queue.set', { running: false })
    const job = await call<Job>('jobs.create', { model: { selftest: true }, dataset: { path: byLine.path } })
    expect(job.config.dataset).toMatchObject({ path: byLine.path, textSplit: 'line', datasetId: dataset.id })
    await call('jobs.cancel', { jobId: job.id })
    await call('queue.set', { running: true })
    // Read as chat messages, no row is usable: refused, and the kept reading stays.
    const refused = await dispatch(host, 'datasets.set_reading', { datasetId: dataset.id, reading: { format: 'openai' } })
    expect(refused.ok).toBe(false)
    expect(!refused.ok && refused.error.message).toMatch(/notes-to-split\.txt: .*"openai"/)
    expect((await call<DatasetEntry>('datasets.get', { datasetId: dataset.id })).reading?.textSplit).toBe('line')
  })
})

describe('uploads over serve', () => {
  it('streams a file into the library with the token', async () => {
    const body = Buffer.from(`${chatRow('uploaded')}\n`)
    const answer = await upload('up.jsonl', body, { authorization: `Bearer ${server.token}` })
    expect(answer.status).toBe(200)
    expect(answer.json.output?.dataset).toMatchObject({ fileName: 'up.jsonl', format: 'openai', usable: 1, bytes: body.length })
  })

  it('refuses one past the size limit, saying how to raise it, and keeps nothing', async () => {
    const before = libraryFolders()
    const big = Buffer.from(`${chatRow('x'.repeat(1000))}\n`.repeat(80))
    const declared = await upload('big.jsonl', big, { authorization: `Bearer ${server.token}` })
    expect(declared.status).toBe(413)
    expect(declared.json.error?.message).toMatch(
      /big\.jsonl is larger than the upload limit of 64 KiB: raise it with serve --max-upload-mb/,
    )
    // Chunked, with no Content-Length: stopped part way by counting.
    const chunked = await upload('big.jsonl', big, { authorization: `Bearer ${server.token}`, 'transfer-encoding': 'chunked' })
    expect(chunked.status).toBe(400)
    expect(libraryFolders()).toEqual(before)
  })

  it('refuses an upload without the token', async () => {
    const answer = await upload('up.jsonl', Buffer.from('x'), {})
    expect(answer).toMatchObject({ status: 401, json: { ok: false, error: { code: 'unauthorized' } } })
  })
})
