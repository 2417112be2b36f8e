/**
 * Push to the Hub through the host's route, with the real huggingface_hub client against the local
 * stand-in of the Hub (tests/fixtures/hub/server.py, which writes what a commit brings to a folder):
 * a self-test job's adapter, GGUF adapter and card arrive byte for byte in a private repository,
 * with the token stored on the Models page; a missing or refused token and a cancelled upload say
 * what happened and what had been sent, and leave the repository unchanged. Needs TUNEDECK_PYTHON.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ExportProgress } from '@shared/exports'
import type { JobConfig } from '@shared/config'
import type { Job } from '@shared/jobs'
import { createHost, type Host } from '../../electron/host/host'
import { python, pythonRuntimeDir, repoRoot, resourcesDir, temporaryDir, waitFor } from './jobs.harness'
import { dispatch, errorOf, request, waitFinished } from './routes'

const TOKEN = 'hf_write_token_1234'
const workDir = temporaryDir('tunedeck-push-')
const dataDir = path.join(workDir, 'data')
const savedEnv = { ...process.env }
const servers: ChildProcess[] = []
const progress: ExportProgress[] = []
let host: Host
let job: Job

/** Starts a local Hub that writes commits under ``pushDir``; resolves with its address. */
async function startHub(pushDir: string, uploadDelay = 0): Promise<string> {
  const server = spawn(
    python,
    [
      path.join(repoRoot, 'tests', 'fixtures', 'hub', 'server.py'),
      '--token',
      TOKEN,
      '--push-dir',
      pushDir,
      '--upload-delay',
      String(uploadDelay),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  servers.push(server)
  const firstLine = await new Promise<string>((resolve) => createInterface({ input: server.stdout! }).once('line', resolve))
  return `http://127.0.0.1:${firstLine.split(' ')[1]}`
}

beforeAll(async () => {
  for (const key of Object.keys(process.env)) if (key.startsWith('HF_') || key.startsWith('HUGGING')) delete process.env[key]
  host = createHost({ dataDir, resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test' })
  host.subscribe((event, payload) => {
    if (event === 'export.progress') progress.push(payload as ExportProgress)
  })
  await host.start()
  const created = await request(host, 'jobs.create', { model: { selftest: true }, training: { epochs: 1 } })
  job = await waitFinished(host, created.id, 180_000)
  expect(job.status).toBe('completed')
}, 240_000)

afterAll(async () => {
  await host?.shutdown()
  for (const server of servers) server.kill()
  process.env = savedEnv
  fs.rmSync(workDir, { recursive: true, force: true })
})

describe('exports.push_hub', () => {
  it('asks for a token first, naming the Models page', async () => {
    process.env.HF_ENDPOINT = await startHub(path.join(workDir, 'pushed-none'))
    const error = errorOf(await dispatch(host, 'exports.push_hub', { jobId: job.id, repo: 'tiny-user/tuned' }))
    expect(error.message).toMatch(/^No Hugging Face token: add one with write access on the Models page/)
    expect(fs.existsSync(path.join(workDir, 'pushed-none'))).toBe(false)
  })

  it("refuses a repository that is not owner/name, in the field's words", async () => {
    const error = errorOf(await dispatch(host, 'exports.push_hub', { jobId: job.id, repo: 'just-a-name' }))
    expect(error.message).toContain('repository: give it as owner/name')
  })

  it('says so when the Hub refuses the token, and that nothing was sent', async () => {
    await request(host, 'models.set_token', { token: 'hf_not_the_right_one' })
    const error = errorOf(await dispatch(host, 'exports.push_hub', { jobId: job.id, repo: 'tiny-user/tuned' }))
    expect(error.message).toContain('The push to tiny-user/tuned failed: the Hugging Face token was refused')
    expect(error.message).toContain('No file had been sent; tiny-user/tuned is unchanged.')
  }, 120_000)

  it('uploads the adapter, its GGUF and the card into a private repository, byte for byte', async () => {
    const pushed = path.join(workDir, 'pushed')
    process.env.HF_ENDPOINT = await startHub(pushed)
    await request(host, 'models.set_token', { token: TOKEN })
    const result = await request(host, 'exports.push_hub', { jobId: job.id, repo: 'tiny-user/tuned' })
    expect(result).toMatchObject({ repo: 'tiny-user/tuned', private: true, url: `${process.env.HF_ENDPOINT}/tiny-user/tuned` })
    const repo = path.join(pushed, 'tiny-user', 'tuned')
    const adapterDir = job.adapterPath!
    expect(
      fs
        .readFileSync(path.join(repo, 'adapter_model.safetensors'))
        .equals(fs.readFileSync(path.join(adapterDir, 'adapter_model.safetensors'))),
    ).toBe(true)
    // The job's config as it travels: the same settings, with this machine's folders left out (the base by its folder's name).
    const pushedConfig = fs.readFileSync(path.join(repo, 'tunedeck-job.json'), 'utf8')
    const ownConfig = JSON.parse(fs.readFileSync(path.join(dataDir, 'jobs', job.id, 'config.json'), 'utf8')) as JobConfig
    expect(pushedConfig).not.toContain(dataDir)
    expect(JSON.parse(pushedConfig)).toEqual({
      ...ownConfig,
      model: { ...ownConfig.model, path: path.basename(ownConfig.model.path) },
      dataset: { ...ownConfig.dataset, path: path.basename(ownConfig.dataset.path) },
    })
    expect(fs.readFileSync(path.join(repo, 'adapter.gguf')).subarray(0, 4).toString()).toBe('GGUF')
    const card = fs.readFileSync(path.join(repo, 'README.md'), 'utf8')
    expect(card.startsWith('---\nlibrary_name: peft\ntags:\n- tunedeck\n- lora\n')).toBe(true)
    expect(card).toContain(job.name)
    const files = fs.readdirSync(repo, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile())
    expect(
      files
        .map((entry) => path.relative(repo, path.join(entry.parentPath, entry.name)))
        .filter((name) => name !== '.hub-repo.json')
        .sort(),
    ).toEqual([...result.files].sort())
    for (const name of ['adapter_config.json', 'tokenizer.json', 'generation_config.json', 'metrics.csv'])
      expect(result.files).toContain(name)
    expect(result.files).not.toContain('manifest.json')
    expect(JSON.parse(fs.readFileSync(path.join(repo, '.hub-repo.json'), 'utf8'))).toEqual({
      private: true,
      commits: ['Upload from Tunedeck'],
    })
    const uploading = progress.filter((item) => item.jobId === job.id && item.phase === 'uploading')
    expect(uploading.at(-1)?.bytesDone).toBe(uploading.at(-1)?.bytesTotal)
    expect(progress.at(-1)).toMatchObject({ phase: 'done', message: result.url })
  }, 180_000)

  it('a cancelled push names the files it had sent and commits none', async () => {
    const pushed = path.join(workDir, 'pushed-slow')
    // 1 s per 16 KiB received: the adapter's weights take long enough to cancel in the middle.
    process.env.HF_ENDPOINT = await startHub(pushed, 1)
    const before = progress.length
    const pushing = dispatch(host, 'exports.push_hub', { jobId: job.id, repo: 'tiny-user/slow', private: false })
    await waitFor(
      () => progress.slice(before).some((item) => item.phase === 'uploading' && item.message === 'sent README.md'),
      120_000,
      () => 'README.md was never sent',
    )
    await request(host, 'exports.cancel', { jobId: job.id })
    const error = errorOf(await pushing)
    expect(error.message).toMatch(
      /^The push to tiny-user\/slow was cancelled\. Sent before it stopped: .*README\.md.* none was committed, so tiny-user\/slow shows none of them\.$/,
    )
    expect(error.message).not.toContain('adapter_model.safetensors')
    expect(fs.existsSync(path.join(pushed, 'tiny-user', 'slow'))).toBe(false)
    expect(progress.at(-1)?.phase).toBe('cancelled')
  }, 180_000)
})
