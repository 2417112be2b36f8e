/**
 * datasets.download through the host's dispatch, against the local stand-in of the Hub
 * (tests/fixtures/hub/server.py): a Hub dataset's split and a web file land in
 * <dataDir>/downloads/ and come back read as a dropped file is; a web download cancelled
 * halfway continues on the next request; an address Tunedeck cannot read is refused naming it.
 * Needs TUNEDECK_PYTHON (the trainer's venv). About ten seconds.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DownloadProgress } from '@shared/models'
import { createHost, type Host } from '../../electron/host/host'
import { python, pythonRuntimeDir, repoRoot, resourcesDir, temporaryDir, waitFor } from './jobs.harness'
import { dispatch, request } from './routes'

const DATASET = 'tiny-org/tiny-instructions'
const workDir = temporaryDir('tunedeck-datasets-download-')
const dataDir = path.join(workDir, 'data')
const savedEnv = { ...process.env }
const progress: DownloadProgress[] = []
let host: Host
let hub: ChildProcess
let endpoint = ''

beforeAll(async () => {
  const conversion = path.join(workDir, 'parquet')
  const files = path.join(workDir, 'web')
  fs.mkdirSync(files, { recursive: true })
  execFileSync(python, [
    '-c',
    `
import pyarrow as a, pyarrow.parquet as p, pathlib
root = pathlib.Path(${JSON.stringify(conversion)}) / "default" / "train"
root.mkdir(parents=True)
for i, (start, count) in enumerate([(0, 40), (40, 30)]):
    p.write_table(a.Table.from_pylist([{"instruction": f"Add {n} and {n}", "output": str(2 * n)} for n in range(start, start + count)]), root / f"{i:04d}.parquet")
`,
  ])
  fs.writeFileSync(
    path.join(files, 'chat.jsonl'),
    Array.from({ length: 4000 }, (_, n) => JSON.stringify({ prompt: `What is ${n} plus ${n}?`, completion: `${2 * n}.` })).join('\n') +
      '\n',
  )
  hub = spawn(
    python,
    [
      path.join(repoRoot, 'tests', 'fixtures', 'hub', 'server.py'),
      '--dataset',
      `${DATASET}=${conversion}`,
      '--files',
      files,
      '--delay',
      '0.03',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const firstLine = await new Promise<string>((resolve) => createInterface({ input: hub.stdout! }).once('line', resolve))
  endpoint = `http://127.0.0.1:${firstLine.split(' ')[1]}`
  for (const key of Object.keys(process.env)) if (key.startsWith('HF_')) delete process.env[key]
  Object.assign(process.env, {
    HF_ENDPOINT: endpoint,
    HF_HUB_CACHE: path.join(workDir, 'hub-cache'),
    HF_HOME: path.join(workDir, 'hf-home'),
  })
  // The stand-in Hub and web server listen on 127.0.0.1, which only this option allows.
  host = createHost({ dataDir, resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test', allowPrivateDownloads: true })
  host.subscribe((event, payload) => {
    if (event === 'models.progress') progress.push(payload as DownloadProgress)
  })
  await host.start()
}, 120_000)

afterAll(async () => {
  await host?.shutdown()
  hub?.kill()
  process.env = savedEnv
  fs.rmSync(workDir, { recursive: true, force: true })
})

describe('datasets.download', () => {
  it('downloads a Hub split into the data folder and previews it', async () => {
    const done = await request(host, 'datasets.download', { hubId: DATASET, split: 'train' })
    expect(done).toMatchObject({
      kind: 'dataset',
      hubId: `${DATASET} default/train`,
      state: 'done',
      path: path.join(dataDir, 'downloads', 'tiny-org--tiny-instructions--default--train.parquet'),
    })
    expect(done.preview).toMatchObject({ ok: true, format: 'alpaca', rows: 70, usable: 70 })
  }, 60_000)

  it('continues a cancelled web download and previews the file', async () => {
    const url = `${endpoint}/files/chat.jsonl`
    const first = request(host, 'datasets.download', { url })
    await waitFor(
      () => progress.some((item) => item.hubId === url && item.doneBytes > 60_000),
      60_000,
      () => 'no progress',
    )
    await request(host, 'datasets.cancel_download', { source: url })
    const cancelled = await first
    expect(cancelled.state).toBe('cancelled')
    expect(cancelled.preview).toBeNull()
    progress.length = 0
    const done = await request(host, 'datasets.download', { url })
    expect(done.state).toBe('done')
    expect(progress.find((item) => item.state === 'downloading')?.doneBytes).toBeGreaterThan(0)
    expect(fs.readFileSync(done.path!, 'utf8')).toBe(fs.readFileSync(path.join(workDir, 'web', 'chat.jsonl'), 'utf8'))
    expect(done.preview).toMatchObject({ ok: true, format: 'prompt_completion', rows: 4000 })
  }, 60_000)

  it('refuses an address it cannot read, naming it', async () => {
    const refused = await dispatch(host, 'datasets.download', { url: 'ftp://example.org/data.jsonl' })
    expect(refused.ok).toBe(false)
    if (!refused.ok) expect(refused.error.message).toContain('https://')
    const missing = await request(host, 'datasets.download', { url: `${endpoint}/files/missing.csv` })
    expect(missing.state).toBe('failed')
    expect(missing.error?.message).toContain(`URL ${endpoint}/files/missing.csv: the server answered HTTP 404`)
  }, 60_000)
})
