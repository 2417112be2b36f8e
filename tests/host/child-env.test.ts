/**
 * What the host's children see of its environment. TUNEDECK_PYTHON is a wrapper that writes
 * each child's arguments and environment to a file and then runs the trainer's real Python, so
 * the real children are observed: the interpreter probe, a dataset preview, the models list, a
 * download, the trainer (in its pty), an export, the chat and the doctor's probe. With
 * TUNEDECK_TOKEN (serve's token), a Hub token and an unrelated secret in the host's
 * environment, none may reach a child, except the Hub token reaching the download; PATH, HOME,
 * the GPU's and locale variables and the trainer's test hooks pass. Before the fix every child
 * got the whole environment. Needs TUNEDECK_PYTHON; about a minute (a two-step self-test job).
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WireResponse } from '@shared/api'
import type { Job } from '@shared/jobs'
import { childEnvironment } from '../../electron/host/childEnv'
import { selftestDataset, waitFor } from './jobs.harness'
import { trainerPython } from './trainerPython'
import { startWireServe, type WireClient, type WireServe } from './wireServe'

const realPython = trainerPython()
const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-child-env-'))
const dumps = join(workDir, 'dumps')
const serveToken = 'serve-token-that-no-child-may-see-0123456789'
const planted = {
  TUNEDECK_TOKEN: serveToken,
  HF_TOKEN: 'hf_user_environment_token',
  HUGGING_FACE_HUB_TOKEN: 'hf_legacy_environment_token',
  SOME_APP_SECRET: 'unrelated secret',
  TUNEDECK_CUDA_MEMORY_MB: '100000',
  NVIDIA_TUNEDECK_MARK: 'kept',
  LC_TUNEDECK_MARK: 'kept',
  // Experiment logs' settings (which may hold an API key) reach the trainer only; these turn nothing on.
  WANDB_TUNEDECK_MARK: 'trainer only',
  MLFLOW_TUNEDECK_MARK: 'trainer only',
  // A download to a closed port fails at once.
  HF_ENDPOINT: 'http://127.0.0.1:9',
}
const savedEnv = { ...process.env }
let serve: WireServe
let client: WireClient

beforeAll(async () => {
  mkdirSync(dumps)
  const wrapper = join(workDir, 'python')
  writeFileSync(
    wrapper,
    `#!/bin/sh\n{ printf 'ARGS'; printf ' %s' "$@"; printf '\\n'; env; } > '${dumps}'/$$.txt\nexec '${realPython}' "$@"\n`,
  )
  chmodSync(wrapper, 0o755)
  Object.assign(process.env, planted, { TUNEDECK_PYTHON: wrapper })
  serve = await startWireServe({ workDir, roots: [join(workDir, 'data')] })
  client = await serve.connect()
}, 120_000)

afterAll(async () => {
  await serve?.stop()
  process.env = savedEnv
  rmSync(workDir, { recursive: true, force: true })
})

/** The output of a request that must succeed. */
async function call<T>(route: string, input: unknown): Promise<T> {
  const response: WireResponse = await client.request(route, input)
  if (!response.ok) throw new Error(`${route}: ${response.error.code}: ${response.error.message}`)
  return response.output as T
}

/** Each child the wrapper saw: its arguments and its environment's names and values. */
function children(): Array<{ args: string; env: Map<string, string> }> {
  return readdirSync(dumps).map((file) => {
    const [first = '', ...lines] = readFileSync(join(dumps, file), 'utf8').split('\n')
    const env = new Map(
      lines
        .filter((line) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    )
    return { args: first.slice('ARGS '.length), env }
  })
}

describe('child environments', () => {
  it('keeps TUNEDECK_TOKEN and other secrets from every child, and gives the Hub token only to the download', async () => {
    await call('system.info', {})
    const dataset = join(serve.dataDir, 'train.jsonl')
    writeFileSync(dataset, readFileSync(selftestDataset()))
    await call('datasets.preview', { path: dataset })
    await call('models.list', {})
    await call('models.set_token', { token: 'hf_stored_token_for_downloads' })
    await call('models.download', { hubId: 'tiny-org/not-there' })
    const job = await call<Job>('jobs.create', { model: { selftest: true }, training: { epochs: 1, maxSteps: 2 } })
    let status = job.status
    await waitFor(
      async () => ['completed', 'failed'].includes((status = (await call<Job>('jobs.get', { jobId: job.id })).status)),
      300_000,
      () => `the self-test job to end (${status})`,
    )
    expect(status).toBe('completed')
    await call('exports.start', { jobId: job.id, destination: join(serve.dataDir, 'out.zip') })
    await call('chat.send', { source: { jobId: job.id }, compare: null, settings: { maxNewTokens: 2 }, text: 'Hi' })
    await waitFor(
      () => client.events.some((event) => event.event === 'chat.done'),
      120_000,
      () => 'the chat answer',
    )
    await call('chat.unload', {})
    await call('system.doctor', {})

    const seen = children()
    const kinds = {
      probe: ' -c ',
      preview: 'tunedeck_trainer.data preview',
      list: 'tunedeck_trainer.models list',
      download: 'tunedeck_trainer.models download',
      trainer: 'tunedeck_trainer train',
      export: 'tunedeck_trainer.export',
      chat: 'tunedeck_trainer.chat',
      doctor: 'tunedeck_trainer.doctor',
    }
    for (const [kind, marker] of Object.entries(kinds))
      expect(
        seen.some((child) => ` ${child.args} `.includes(marker)),
        `a ${kind} child`,
      ).toBe(true)
    for (const child of seen) {
      const download = child.args.includes('tunedeck_trainer.models download')
      const trainer = child.args.includes('tunedeck_trainer train')
      expect(child.env.get('TUNEDECK_TOKEN'), child.args).toBeUndefined()
      expect(child.env.get('SOME_APP_SECRET'), child.args).toBeUndefined()
      expect(child.env.get('HF_TOKEN'), child.args).toBe(download ? 'hf_stored_token_for_downloads' : undefined)
      expect(child.env.get('HUGGING_FACE_HUB_TOKEN'), child.args).toBe(download ? 'hf_legacy_environment_token' : undefined)
      expect([child.env.get('WANDB_TUNEDECK_MARK'), child.env.get('MLFLOW_TUNEDECK_MARK')], child.args).toEqual(
        trainer ? ['trainer only', 'trainer only'] : [undefined, undefined],
      )
      expect([child.env.get('PATH'), child.env.get('HOME')], child.args).toEqual([process.env.PATH, process.env.HOME])
      expect(
        [child.env.get('NVIDIA_TUNEDECK_MARK'), child.env.get('LC_TUNEDECK_MARK'), child.env.get('TUNEDECK_CUDA_MEMORY_MB')],
        child.args,
      ).toEqual(['kept', 'kept', '100000'])
    }
    console.log(`child environments: ${seen.length} children checked (${Object.keys(kinds).join(', ')})`)
  }, 600_000)

  it('lets a download use the Hub token of the environment when none is stored', () => {
    const env = childEnvironment({}, { hubToken: true, source: { PATH: '/bin', HF_TOKEN: 'hf_from_env', TUNEDECK_TOKEN: serveToken } })
    expect(env).toEqual({ PATH: '/bin', HF_TOKEN: 'hf_from_env' })
  })

  it('passes MLflow and Weights & Biases settings to the trainer only', () => {
    const source = { PATH: '/bin', MLFLOW_TRACKING_URI: 'http://mlflow.local', WANDB_API_KEY: 'wandb-key', WANDB_MODE: 'offline' }
    expect(childEnvironment({}, { source })).toEqual({ PATH: '/bin' })
    expect(childEnvironment({}, { experimentLogs: true, source })).toEqual(source)
  })
})
