/**
 * The models.* routes through the host's dispatch, with the real trainer's Python and the real
 * huggingface_hub client against a local stand-in of the Hub (tests/fixtures/hub/server.py,
 * HF_ENDPOINT at it, HF_HUB_CACHE in a temporary folder): a download with progress events lands
 * in the list with what its files say; a cancelled download resumes; a gated model fails naming
 * the page to open, then downloads with the stored token (a 0600 file); an unknown hub id is
 * named by jobs.create and by models.download.
 * Needs TUNEDECK_PYTHON (the trainer's venv). About half a minute.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DownloadProgress } from '@shared/models'
import { createHost, type Host } from '../../electron/host/host'
import { python, pythonRuntimeDir, repoRoot, resourcesDir, temporaryDir, waitFor } from './jobs.harness'
import { dispatch, errorOf, request } from './routes'

const REPO = 'tiny-org/tiny-chat'
const GATED = 'tiny-org/tiny-gated'
const TOKEN = 'hf_test_token_1234'
const workDir = temporaryDir('tunedeck-models-')
const dataDir = path.join(workDir, 'data')
const savedEnv = { ...process.env }
let host: Host
let hub: ChildProcess
let endpoint = ''
const progress: DownloadProgress[] = []

beforeAll(async () => {
  const model = path.join(workDir, 'tiny')
  execFileSync(python, ['-m', 'tunedeck_trainer', 'make-tiny-model', '--out', model], {
    env: { ...process.env, PYTHONPATH: pythonRuntimeDir },
  })
  hub = spawn(
    python,
    [
      path.join(repoRoot, 'tests', 'fixtures', 'hub', 'server.py'),
      '--repo',
      `${REPO}=${model}`,
      '--repo',
      `${GATED}=${model}`,
      '--gated',
      GATED,
      '--token',
      TOKEN,
      '--delay',
      '0.03',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const firstLine = await new Promise<string>((resolve) => createInterface({ input: hub.stdout! }).once('line', resolve))
  endpoint = `http://127.0.0.1:${firstLine.split(' ')[1]}`
  for (const key of Object.keys(process.env)) if (key.startsWith('HF_') || key.startsWith('HUGGING')) delete process.env[key]
  Object.assign(process.env, {
    HF_ENDPOINT: endpoint,
    HF_HUB_CACHE: path.join(workDir, 'hub-cache'),
    HF_HOME: path.join(workDir, 'hf-home'),
  })
  host = createHost({ dataDir, resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test' })
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

describe('models', () => {
  it('names an unknown hub id when a job is created and when it is downloaded', async () => {
    const created = errorOf(
      await dispatch(host, 'jobs.create', {
        model: { path: 'tiny-org/not-downloaded' },
        dataset: { path: path.join(resourcesDir, 'selftest', 'dataset.jsonl') },
      }),
    )
    expect(created.message).toContain('the hub id tiny-org/not-downloaded is not downloaded')
    expect((created.data as { fields: Record<string, string> }).fields['model.path']).toContain('Models page')

    const missing = await request(host, 'models.download', { hubId: 'tiny-org/no-such-model' })
    expect(missing.state).toBe('failed')
    expect(missing.error?.code).toBe('not_found')
    expect(missing.error?.message).toMatch(/^hub id tiny-org\/no-such-model: no such model/)
  }, 60_000)

  it('cancels a download, resumes it, and lists the model with what its files say', async () => {
    const first = request(host, 'models.download', { hubId: REPO })
    await waitFor(
      () => progress.some((item) => item.hubId === REPO && item.state === 'downloading' && item.doneBytes > 100_000),
      60_000,
      () => 'no progress',
    )
    expect((await request(host, 'models.downloads', {})).map((item) => item.hubId)).toEqual([REPO])
    await request(host, 'models.cancel', { hubId: REPO })
    const cancelled = await first
    expect(cancelled.state).toBe('cancelled')
    const stoppedAt = cancelled.doneBytes
    expect(stoppedAt).toBeGreaterThan(0)
    expect(stoppedAt).toBeLessThan(cancelled.totalBytes)

    progress.length = 0
    const done = await request(host, 'models.download', { hubId: REPO })
    expect(done.state).toBe('done')
    expect(done.doneBytes).toBe(done.totalBytes)
    // The resumed download starts from what the first one left, not from zero.
    const resumedStart = progress.find((item) => item.state === 'downloading')
    expect(resumedStart?.doneBytes).toBeGreaterThan(0)
    const moving = progress.filter((item) => item.state === 'downloading' && item.bytesPerSecond > 0)
    expect(moving.length).toBeGreaterThan(0)
    expect(moving.every((item) => item.secondsLeft !== null && item.secondsLeft >= 0)).toBe(true)

    const library = await request(host, 'models.list', {})
    expect(library.cacheDir).toBe(path.join(workDir, 'hub-cache'))
    const listed = library.models.find((item) => item.hubId === REPO)
    expect(listed).toMatchObject({
      source: 'hub-cache',
      path: done.path,
      architecture: 'LlamaForCausalLM',
      modelType: 'llama',
      dtype: 'f32',
      chatTemplate: true,
      labelOnlyLoss: true,
      problems: [],
    })
    expect(listed?.parameters).toBeGreaterThan(100_000)
    expect(listed?.bytes).toBe(done.totalBytes)

    // Cached now: a job may name it by hub id.
    const job = await request(host, 'jobs.create', {
      model: { path: REPO },
      dataset: { path: path.join(resourcesDir, 'selftest', 'dataset.jsonl') },
      training: { maxSteps: 1 },
    })
    expect(job.id).toBeTruthy()
    await request(host, 'jobs.cancel', { jobId: job.id }).catch(() => undefined)
  }, 120_000)

  it('inspects a cached model: packing, and LoRA and QLoRA estimates', async () => {
    const detail = await request(host, 'models.inspect', { path: REPO })
    expect(detail.packing).toBe(true)
    expect(detail.fit?.lora.estimatedMb).toBeGreaterThan(0)
    expect(detail.fit?.qlora.estimatedMb).toBeGreaterThan(0)

    // A preset's settings change the estimate: 'efficient' trains a micro-batch of 1 in 4 bits.
    const byDefault = await request(host, 'models.fit', {})
    const efficient = await request(host, 'models.fit', { preset: 'efficient' })
    const defaultFit = byDefault.find((entry) => entry.path === detail.path)?.fit
    const efficientFit = efficient.find((entry) => entry.path === detail.path)?.fit
    expect(defaultFit?.lora.estimatedMb).toBe(detail.fit?.lora.estimatedMb)
    expect(efficientFit?.lora.estimatedMb).toBeLessThan(defaultFit!.lora.estimatedMb)
    const unknown = errorOf(await dispatch(host, 'models.fit', { preset: 'no-such-preset' }))
    expect(unknown.message).toContain('no preset "no-such-preset"')
  }, 120_000)

  it('asks for the licence page of a gated model, then downloads it with the stored token', async () => {
    const refused = await request(host, 'models.download', { hubId: GATED })
    expect(refused.state).toBe('failed')
    expect(refused.error?.code).toBe('gated')
    expect(refused.error?.url).toBe(`${endpoint}/${GATED}`)
    expect(refused.error?.message).toContain('accept its licence')

    expect(await request(host, 'models.set_token', { token: TOKEN })).toEqual({ stored: true, storage: 'private-file' })
    if (process.platform !== 'win32') expect(fs.statSync(path.join(dataDir, 'hf-token')).mode & 0o777).toBe(0o600)
    const done = await request(host, 'models.download', { hubId: GATED })
    expect(done.state).toBe('done')
    expect(fs.existsSync(path.join(done.path!, 'model.safetensors'))).toBe(true)
    expect(await request(host, 'models.set_token', { token: null })).toEqual({ stored: false, storage: 'private-file' })
  }, 120_000)
})
