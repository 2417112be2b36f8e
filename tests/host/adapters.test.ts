/**
 * The adapter library through the host's dispatch with the real trainer on CPU: two self-test
 * jobs on unequal data (all 96 rows, and the first 32) combined exactly (the result's B·A is the
 * mean of theirs weighted by examples, n_i / Σn, within 1e-5) and by averaging (the hand-computed
 * weighted mean of each tensor), with a card that names
 * sources, weights and mode; mismatched shapes refused naming what differs; a combined adapter
 * exported and imported back; and a new job started from a library adapter (initFrom).
 * Needs TUNEDECK_PYTHON (the trainer's venv). About a minute on 2 cores.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LibraryAdapter } from '@shared/adapters'
import { fieldErrorsOf } from '@shared/errors'
import type { Job, MetricPoint } from '@shared/jobs'
import { createHost, type Host } from '../../electron/host/host'
import { selftestModelPath } from '../../electron/host/jobs/config'
import { adapterFiles, multiply, readSafetensors, zipOf, writeFile, type Matrix } from './adapters.helpers'
import { pythonRuntimeDir, resourcesDir, temporaryDir } from './jobs.harness'
import { zipEntries } from './export.helpers'
import { dispatch, errorOf, waitFinished } from './routes'

const workDir = temporaryDir('tunedeck-adapters-')
const dataDir = path.join(workDir, 'data')
let host: Host
const jobs: Job[] = []

async function call<T>(route: string, input: unknown): Promise<T> {
  const result = await dispatch(host, route, input)
  if (!result.ok) throw new Error(`${route} failed: ${JSON.stringify(result.error)}`)
  return result.output as T
}

function weightsOf(folder: string): Record<string, Matrix> {
  return readSafetensors(fs.readFileSync(path.join(folder, 'adapter_model.safetensors')))
}

function libraryFolder(adapter: LibraryAdapter): string {
  return path.join(dataDir, 'adapters', adapter.id)
}

/** Training examples of a job, as its dataset event reported them. */
async function examplesOf(job: Job): Promise<number> {
  const report = await call<{ dataset: { examples: number } | null }>('jobs.report', { jobId: job.id })
  if (!report.dataset) throw new Error(`job ${job.id} reported no dataset`)
  return report.dataset.examples
}

beforeAll(async () => {
  host = createHost({ dataDir, resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test' })
  await host.start()
  // Two self-test jobs with different seeds, learning rates and example counts: the same shape, different
  // weights, and unequal shares (equal counts would make any weighting look like a plain mean).
  const rows = fs
    .readFileSync(path.join(resourcesDir, 'selftest', 'dataset.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
  const fewer = writeFile(path.join(workDir, 'first-32.jsonl'), Buffer.from(rows.slice(0, 32).join('\n') + '\n'))
  for (const seed of [1, 2]) {
    const dataset = seed === 2 ? { dataset: { path: fewer } } : {}
    const job = await call<Job>('jobs.create', {
      model: { selftest: true },
      ...dataset,
      training: { epochs: 1, seed, learningRate: seed * 1e-3 },
    })
    jobs.push(await waitFinished(host, job.id))
  }
}, 240_000)

afterAll(async () => {
  await host?.shutdown()
  fs.rmSync(workDir, { recursive: true, force: true })
})

describe('adapters.combine', () => {
  it('trains two sources to combine', () => {
    expect(jobs.map((job) => job.status)).toEqual(['completed', 'completed'])
  })

  it('exact mode: B·A of the result is the examples-weighted mean of the sources’ B·A', async () => {
    const combined = await call<LibraryAdapter>('adapters.combine', {
      name: 'Both',
      mode: 'exact',
      sources: jobs.map((job) => ({ jobId: job.id })),
    })
    const sources = jobs.map((job) => path.join(dataDir, 'jobs', job.id, 'adapter'))
    const configs = sources.map(
      (folder) => JSON.parse(fs.readFileSync(path.join(folder, 'adapter_config.json'), 'utf8')) as { r: number; lora_alpha: number },
    )
    const rank = configs[0]!.r
    expect(combined).toMatchObject({ source: 'combined', rank: 2 * rank, combined: { mode: 'exact' } })
    const examples = await Promise.all(jobs.map(examplesOf))
    expect(examples).toEqual([96, 32])
    const shares = examples.map((count) => count / (examples[0]! + examples[1]!)) // 0.75 and 0.25
    expect(combined.combined?.sources.map((source) => source.weight)).toEqual(shares.map((share) => expect.closeTo(share, 9)))
    expect(combined.examples).toBe(examples[0]! + examples[1]!)

    const scaling = configs[0]!.lora_alpha / rank
    expect(combined.alpha / combined.rank).toBeCloseTo(scaling, 9)
    const each = sources.map(weightsOf)
    const result = weightsOf(libraryFolder(combined))
    let compared = 0
    for (const name of Object.keys(result).filter((key) => key.includes('.lora_A.'))) {
      const partner = name.replace('.lora_A.', '.lora_B.')
      const product = multiply(result[partner]!, result[name]!)
      const expected = each.map((tensors, index) => ({ share: shares[index]!, delta: multiply(tensors[partner]!, tensors[name]!) }))
      for (let index = 0; index < product.data.length; index++) {
        const mean = expected.reduce((sum, part) => sum + part.share * scaling * part.delta.data[index]!, 0)
        expect(Math.abs(scaling * product.data[index]! - mean)).toBeLessThan(1e-5)
      }
      compared++
    }
    expect(compared).toBeGreaterThan(0)
    const card = fs.readFileSync(path.join(libraryFolder(combined), 'README.md'), 'utf8')
    expect(card).toContain(`Its rank, ${2 * rank}, is the sum of theirs`)
    for (const job of jobs) expect(card).toContain(`job "${job.name}"`)
  })

  it('average mode: every tensor is the weighted mean, computed by hand', async () => {
    const sources = [{ jobId: jobs[0]!.id }, { jobId: jobs[1]!.id }]
    const combined = await call<LibraryAdapter>('adapters.combine', { name: 'Mean', mode: 'average', sources })
    const [first, second] = jobs.map((job) => weightsOf(path.join(dataDir, 'jobs', job.id, 'adapter')))
    const [a, b] = combined.combined!.sources.map((source) => source.weight)
    expect([a, b]).toEqual([expect.closeTo(0.75, 9), expect.closeTo(0.25, 9)]) // n_i / Σn of 96 and 32 examples
    const result = weightsOf(libraryFolder(combined))
    for (const [name, tensor] of Object.entries(result)) {
      for (let index = 0; index < tensor.data.length; index++) {
        expect(tensor.data[index]).toBeCloseTo(a! * first![name]!.data[index]! + b! * second![name]!.data[index]!, 6)
      }
    }
    expect(fs.readFileSync(path.join(libraryFolder(combined), 'README.md'), 'utf8')).toContain('Average (FedAvg)')
  })

  it('refuses adapters of another shape, naming what differs', async () => {
    const file = writeFile(
      path.join(workDir, 'other.zip'),
      await zipOf(Object.entries(adapterFiles({ seed: 3, rank: 3 })).map(([name, data]) => ({ name, data }))),
    )
    const other = await call<LibraryAdapter>('adapters.import', { path: file })
    expect(other.baseAvailable).toBe(false)
    const error = errorOf(
      await dispatch(host, 'adapters.combine', { name: 'No', mode: 'average', sources: [{ jobId: jobs[0]!.id }, { adapterId: other.id }] }),
    )
    expect(error.code).toBe('invalid_input')
    // Named as the page names them, by the shared check (combineProblem), with no folder of this machine.
    expect(fieldErrorsOf(error).sources).toMatch(
      /^Library adapter "other" differs from job "[^"]+" in its base model: tunedeck-test\/absent-base against /,
    )
    // The base model's folder is named (it is what differs), the adapters' own folders never are.
    for (const folder of ['jobs', 'adapters']) expect(error.message).not.toContain(path.join(dataDir, folder))
    const listed = await call<LibraryAdapter[]>('adapters.list', {})
    expect(listed.map((adapter) => adapter.name).sort()).toEqual(['Both', 'Mean', 'other'])
  })

  it('exports a library adapter and imports it back, and starts a new job from it', async () => {
    const both = (await call<LibraryAdapter[]>('adapters.list', {})).find((adapter) => adapter.name === 'Both')!
    const exported = await call<{ path: string; prepared: boolean }>('adapters.export', {
      adapterId: both.id,
      destination: path.join(workDir, 'both.zip'),
    })
    // Its base is here, so the export's own step ran: the GGUF adapter, a Modelfile and the compatibility report.
    expect(exported.prepared).toBe(true)
    const names = (await zipEntries(exported.path)).map((entry) => entry.name)
    expect(names).toEqual(
      expect.arrayContaining([
        'adapter/adapter_model.safetensors',
        'adapter/adapter_config.json',
        'adapter.gguf',
        'Modelfile',
        'README.md',
        'adapter.json',
        'manifest.json',
      ]),
    )
    const again = await call<LibraryAdapter>('adapters.import', { path: exported.path, name: 'Both again' })
    expect(again).toMatchObject({ rank: both.rank, alpha: both.alpha, examples: both.examples, examplesKnown: true, baseAvailable: true })

    const next = await call<Job>('jobs.create', { model: { selftest: true }, training: { epochs: 1 }, initFrom: { adapterId: again.id } })
    expect(next.config.initFrom).toBe(libraryFolder(again))
    expect(next.config.lora.rank).toBe(both.rank)
    const done = await waitFinished(host, next.id)
    expect(done.status).toBe('completed')
    const fresh = await call<MetricPoint[]>('jobs.metrics', { jobId: jobs[0]!.id })
    const started = await call<MetricPoint[]>('jobs.metrics', { jobId: next.id })
    // It starts from trained weights: its first loss is below a fresh start's.
    expect(started[0]!.loss).toBeLessThan(fresh[0]!.loss)

    // A job waiting to start from an adapter keeps it from being deleted.
    await call('queue.set', { running: false })
    const waiting = await call<Job>('jobs.create', {
      model: { selftest: true },
      training: { epochs: 1 },
      initFrom: { adapterId: again.id },
    })
    const used = errorOf(await dispatch(host, 'adapters.delete', { adapterId: again.id }))
    expect(used.code).toBe('conflict')
    expect(used.message).toContain(`Job "${waiting.name}" starts from this adapter`)
    await call('jobs.cancel', { jobId: waiting.id })
    await call('adapters.delete', { adapterId: again.id })
    expect(fs.existsSync(libraryFolder(again))).toBe(false)
    const gone = errorOf(await dispatch(host, 'adapters.delete', { adapterId: again.id }))
    expect(gone.code).toBe('not_found')
  }, 180_000)

  it('trains from an imported adapter whose base is named by hub id, once that base is in the local hub cache', async () => {
    // The self-test model, placed in a hub cache as the snapshot of "tunedeck-test/tiny".
    const hub = path.join(workDir, 'hub')
    const snapshot = path.join(hub, 'models--tunedeck-test--tiny', 'snapshots', '0123abcd')
    fs.cpSync(selftestModelPath(dataDir), snapshot, { recursive: true })
    fs.mkdirSync(path.join(hub, 'models--tunedeck-test--tiny', 'refs'))
    fs.writeFileSync(path.join(hub, 'models--tunedeck-test--tiny', 'refs', 'main'), '0123abcd')
    const adapter = path.join(dataDir, 'jobs', jobs[1]!.id, 'adapter')
    const config = JSON.parse(fs.readFileSync(path.join(adapter, 'adapter_config.json'), 'utf8')) as Record<string, unknown>
    const entries = [
      { name: 'adapter/adapter_model.safetensors', data: fs.readFileSync(path.join(adapter, 'adapter_model.safetensors')) },
      {
        name: 'adapter/adapter_config.json',
        data: Buffer.from(JSON.stringify({ ...config, base_model_name_or_path: 'tunedeck-test/tiny' })),
      },
    ]
    const file = writeFile(path.join(workDir, 'from-hub.zip'), await zipOf(entries))
    const saved = process.env.HF_HUB_CACHE
    try {
      delete process.env.HF_HUB_CACHE
      expect((await call<LibraryAdapter>('adapters.import', { path: file })).baseAvailable).toBe(false)
      process.env.HF_HUB_CACHE = hub
      const imported = await call<LibraryAdapter>('adapters.import', { path: file, name: 'hub' })
      expect(imported).toMatchObject({ baseModel: 'tunedeck-test/tiny', baseAvailable: true })
      await call('queue.set', { running: true })
      const dataset = { path: path.join(resourcesDir, 'selftest', 'dataset.jsonl') }
      const next = await call<Job>('jobs.create', {
        model: { path: 'tunedeck-test/tiny' },
        dataset,
        training: { epochs: 1 },
        initFrom: { adapterId: imported.id },
      })
      const done = await waitFinished(host, next.id)
      expect(done.error ?? null).toBeNull()
      expect(done.status).toBe('completed')
    } finally {
      if (saved === undefined) delete process.env.HF_HUB_CACHE
      else process.env.HF_HUB_CACHE = saved
    }
  }, 180_000)
})
