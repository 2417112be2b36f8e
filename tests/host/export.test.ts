/**
 * Export of a real self-test job (the real trainer on CPU, the real export Python): the zip
 * holds the adapter, the GGUF adapter, tokenizer, Modelfile, card, metrics and manifest; it
 * is checked against its manifest; no file in it names this machine's folders (the base is named
 * by its folder's name); the unzipped adapter loaded with PeftModel, given the base, gives the job's
 * own logits. Needs TUNEDECK_PYTHON. About a minute on 2 cores.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ExportProgress } from '@shared/exports'
import type { Job } from '@shared/jobs'
import { ExportService, type ExportServiceOptions } from '../../electron/host/exports/service'
import { Harness, pythonRuntimeDir, temporaryDir } from './jobs.harness'
import { extractZip, zipEntries } from './export.helpers'
import { trainerPython } from './trainerPython'

const dataDir = temporaryDir('tunedeck-export-')
const python = trainerPython()
let h: Harness
let job: Job
const progress: ExportProgress[] = []

function service(options: Partial<ExportServiceOptions> = {}): ExportService {
  return new ExportService({
    dataDir,
    appVersion: '0.1.0-test',
    pythonRuntimeDir,
    resolvePython: async () => python,
    getJob: (jobId) => h.service.get(jobId),
    emit: (event) => progress.push(event),
    ...options,
  })
}

// Loads the base with the job's adapter and with the exported one; prints the largest logit difference.
const compareAdapters = `
import sys, torch
from peft import PeftModel
from transformers import AutoModelForCausalLM
base_dir, ours, exported = sys.argv[1:4]
ids = torch.tensor([[3, 17, 45, 99, 250, 4, 3, 61, 62, 63]])
def logits(adapter):
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32), adapter).eval()
    with torch.no_grad():
        return model(ids).logits
a, b = logits(ours), logits(exported)
base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32).eval()
with torch.no_grad():
    moved = (a - base(ids).logits).abs().max().item()
print((a - b).abs().max().item(), moved)
`

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

beforeAll(async () => {
  h = new Harness(dataDir)
  await h.service.start()
  job = await h.waitForStatus(h.service.create({ model: { selftest: true }, training: { epochs: 1 } }).id, ['completed', 'failed'], 180_000)
  expect(job.status).toBe('completed')
}, 240_000)

afterAll(async () => {
  await h.service.shutdown()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

describe('export of a finished job', () => {
  it('reports which loaders take the adapter, and where the zip goes by default', async () => {
    const plan = await service().plan({ jobId: job.id, checkpoint: null })
    expect(plan.defaultDestination).toBe(path.join(dataDir, 'exports', 'Self-test.zip'))
    expect(plan.compatibility.targets.map((target) => [target.target, target.loads])).toEqual([
      ['peft', true],
      ['vllm', true],
      ['llamacpp', true],
      ['ollama', true],
    ])
    expect(plan.compatibility.vllmMaxLoraRank).toBe(job.config.lora.rank)
  }, 60_000)

  it("writes a verified zip whose adapter gives the job's own logits under PeftModel", async () => {
    progress.length = 0
    const result = await service().start({ jobId: job.id, checkpoint: null, merged: false })
    expect(result.path).toBe(path.join(dataDir, 'exports', 'Self-test.zip'))
    expect(fs.existsSync(`${result.path}.partial`)).toBe(false)
    expect(fs.readdirSync(path.join(dataDir, 'exports'))).toEqual(['Self-test.zip']) // no staging left
    const phases = [...new Set(progress.map((event) => event.phase))]
    expect(phases).toEqual(['preparing', 'hashing', 'zipping', 'verifying', 'done'])

    const entries = await zipEntries(result.path)
    const names = entries.map((entry) => entry.name)
    for (const name of [
      'adapter/adapter_model.safetensors',
      'adapter/adapter_config.json',
      'adapter/tokenizer.json',
      'adapter/tokenizer_config.json',
      'adapter/generation_config.json',
      'adapter.gguf',
      'Modelfile',
      'README.md',
      'config.json',
      'metrics.csv',
      'terminal.log',
      'manifest.json',
    ]) {
      expect(names).toContain(name)
    }
    expect(result.files).toBe(names.length)
    // Weights are stored, text is deflated.
    expect(entries.find((entry) => entry.name === 'adapter/adapter_model.safetensors')?.method).toBe(0)
    expect(entries.find((entry) => entry.name === 'adapter.gguf')?.method).toBe(0)
    expect(entries.find((entry) => entry.name === 'README.md')?.method).toBe(8)

    const unzipped = temporaryDir('tunedeck-unzipped-')
    await extractZip(result.path, unzipped)
    const manifest = JSON.parse(fs.readFileSync(path.join(unzipped, 'manifest.json'), 'utf8')) as {
      examples?: number
      files: Array<{ path: string; bytes: number; sha256: string }>
    }
    // The examples it trained on (the self-test's 96 rows), so an import on another machine weighs it as it trained.
    expect(manifest.examples).toBe(h.service.report(job.id).dataset?.examples)
    expect(manifest.examples).toBeGreaterThan(1)
    for (const file of manifest.files) expect(sha256(path.join(unzipped, file.path))).toBe(file.sha256)
    expect(manifest.files.map((file) => file.path).sort()).toEqual(names.filter((name) => name !== 'manifest.json').sort())

    // The zip goes to other machines: no file in it names this machine's data folder or base folder.
    const leaks = manifest.files.filter((file) => {
      const bytes = fs.readFileSync(path.join(unzipped, file.path))
      return bytes.includes(dataDir) || bytes.includes(job.config.model.path)
    })
    expect(leaks.map((file) => file.path)).toEqual([])
    const adapterConfig = JSON.parse(fs.readFileSync(path.join(unzipped, 'adapter', 'adapter_config.json'), 'utf8')) as Record<
      string,
      unknown
    >
    expect(adapterConfig.base_model_name_or_path).toBe(path.basename(job.config.model.path))
    const jobConfig = JSON.parse(fs.readFileSync(path.join(unzipped, 'config.json'), 'utf8')) as typeof job.config
    expect([jobConfig.model.path, jobConfig.dataset.path]).toEqual([
      path.basename(job.config.model.path),
      path.basename(job.config.dataset.path),
    ])
    const generation = JSON.parse(fs.readFileSync(path.join(unzipped, 'adapter', 'generation_config.json'), 'utf8')) as {
      eos_token_id: number[]
    }
    expect(generation.eos_token_id).toEqual([4, 3]) // <|im_end|> and <|im_start|> of the tiny tokenizer

    const metrics = fs.readFileSync(path.join(unzipped, 'metrics.csv'), 'utf8').trim().split('\n')
    expect(metrics.length - 1).toBe(h.service.metrics(job.id).length)
    const card = fs.readFileSync(path.join(unzipped, 'README.md'), 'utf8')
    expect(card).toContain(`SHA-256 ${sha256(job.config.dataset.path)}`)
    expect(card).toContain(`- Steps: ${job.step}`)
    expect(card).toContain(`--max-lora-rank ${job.config.lora.rank}`)
    expect(card).toContain('Tunedeck 0.1.0-test')
    const modelfile = fs.readFileSync(path.join(unzipped, 'Modelfile'), 'utf8')
    expect(modelfile).toMatch(/^FROM \.\/base\.gguf$/m)
    expect(modelfile).toMatch(/^ADAPTER \.\/adapter\.gguf$/m)
    expect(modelfile).toContain('PARAMETER stop "<|im_end|>"')
    expect(modelfile).toContain('TEMPLATE """{{- range .Messages }}<|im_start|>{{ .Role }}')

    const [difference, moved] = execFileSync(
      python,
      ['-c', compareAdapters, job.config.model.path, path.join(h.jobDir(job.id), 'adapter'), path.join(unzipped, 'adapter')],
      {
        env: { ...process.env, PYTHONPATH: pythonRuntimeDir, OMP_NUM_THREADS: '1' },
        encoding: 'utf8',
      },
    )
      .trim()
      .split(' ')
      .map(Number)
    console.log(`unzipped adapter vs the job's own: largest logit difference ${difference}; the adapter moves logits by up to ${moved}`)
    expect(difference).toBeLessThan(1e-5)
    expect(moved).toBeGreaterThan(1e-2) // the adapter changes the logits, so equality means something
    fs.rmSync(unzipped, { recursive: true, force: true })
  }, 180_000)
})

describe('export failures leave nothing half-written', () => {
  /** Every file under the exports folder and the destination's folder, staging included. */
  function leftovers(...folders: string[]): string[] {
    return folders.flatMap((folder) => (fs.existsSync(folder) ? fs.readdirSync(folder).map((name) => path.join(folder, name)) : []))
  }

  it('says the disk is full when a write fails with ENOSPC, and removes the partial zip', async () => {
    const destination = path.join(dataDir, 'full', 'out.zip')
    // /dev/full is a real device whose every write fails with ENOSPC, as a full disk does.
    const exports = service({ openOutput: () => fs.createWriteStream('/dev/full') })
    progress.length = 0
    await expect(exports.start({ jobId: job.id, checkpoint: null, destination, merged: false })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining(`the disk holding ${path.dirname(destination)} is full`),
    })
    expect(leftovers(path.dirname(destination), path.join(dataDir, 'exports')).filter((file) => !file.endsWith('Self-test.zip'))).toEqual(
      [],
    )
    expect(progress.at(-1)?.phase).toBe('failed')
  }, 120_000)

  it('names a destination it cannot write to before doing any work', async () => {
    const blocker = path.join(dataDir, 'a-file')
    fs.writeFileSync(blocker, 'not a folder')
    const destination = path.join(blocker, 'out.zip')
    await expect(service().start({ jobId: job.id, checkpoint: null, destination, merged: false })).rejects.toMatchObject({
      code: 'invalid_input',
      message: `destination: cannot make the folder ${blocker} (EEXIST): a file is in its way or it is not writable; choose another folder.`,
    })
    const exports = service()
    await expect(exports.start({ jobId: job.id, checkpoint: null, destination: 'exports/out.zip', merged: false })).rejects.toMatchObject({
      message: expect.stringMatching(/^destination: "exports\/out\.zip" is not a full path/),
    })
    expect(exports.cancel(job.id)).toBe(false) // a refused export leaves the job free for the next one
    await expect(
      service().start({ jobId: job.id, checkpoint: null, destination: path.join(dataDir, 'out.tar'), merged: false }),
    ).rejects.toMatchObject({
      message: expect.stringContaining('does not end in .zip'),
    })
    // As root (CI) permissions do not stop a write, but /proc takes no new files.
    await expect(
      service().start({ jobId: job.id, checkpoint: null, destination: '/proc/tunedeck-export.zip', merged: false }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(
        /^destination: cannot write \/proc\/tunedeck-export\.zip\.partial \(E[A-Z]+\): choose a folder you can write to\.$/,
      ),
    })
  })

  it('refuses a job that has no adapter yet, and an unknown checkpoint', async () => {
    const pending = h.service.create({ model: { selftest: true }, training: { epochs: 1 } })
    await expect(service().plan({ jobId: pending.id, checkpoint: null })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(
        /^Job "Self-test \(2\)" has no adapter yet \(it is (queued|starting|running)\): export it once it has completed/,
      ),
    })
    h.service.cancel(pending.id)
    await h.waitForStatus(pending.id, ['cancelled'], 60_000)
    await expect(service().start({ jobId: job.id, checkpoint: 'nope', merged: false })).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('no checkpoint "nope"'),
    })
  }, 90_000)

  it('says the base model folder has moved, and writes nothing', async () => {
    const moved = `${job.config.model.path}-moved`
    fs.renameSync(job.config.model.path, moved)
    const destination = path.join(dataDir, 'moved', 'out.zip')
    try {
      await expect(service().start({ jobId: job.id, checkpoint: null, destination, merged: false })).rejects.toMatchObject({
        code: 'invalid_input',
        message: expect.stringContaining(`${path.join(job.config.model.path, 'config.json')}: not found; the base model folder has moved`),
      })
    } finally {
      fs.renameSync(moved, job.config.model.path)
    }
    expect(leftovers(path.dirname(destination))).toEqual([])
  }, 60_000)

  it('refuses a second export of the same job while one runs, and cancels one leaving nothing', async () => {
    const exports = service()
    const destination = path.join(dataDir, 'twice', 'out.zip')
    const first = exports.start({ jobId: job.id, checkpoint: null, destination, merged: false })
    await expect(
      exports.start({ jobId: job.id, checkpoint: null, destination: path.join(dataDir, 'twice', 'other.zip'), merged: false }),
    ).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('is already running'),
    })
    await expect(first).resolves.toMatchObject({ path: destination })
    expect(fs.readdirSync(path.dirname(destination))).toEqual(['out.zip'])

    progress.length = 0
    const cancelled = exports.start({
      jobId: job.id,
      checkpoint: null,
      destination: path.join(dataDir, 'cancelled', 'out.zip'),
      merged: false,
    })
    while (!progress.some((event) => event.phase === 'preparing')) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(exports.cancel(job.id)).toBe(true)
    await expect(cancelled).rejects.toMatchObject({ code: 'conflict', message: 'The export was cancelled.' })
    expect(progress.at(-1)?.phase).toBe('cancelled')
    expect(
      leftovers(path.join(dataDir, 'cancelled'), path.join(dataDir, 'exports')).filter((file) => !file.endsWith('Self-test.zip')),
    ).toEqual([])
  }, 120_000)

  it('removes staging folders a dead host left behind, and keeps those of live processes', () => {
    const exportsDir = path.join(dataDir, 'exports')
    const dead = path.join(exportsDir, `.staging-${job.id}-2147483646-1`) // above any pid_max: no such process
    const live = path.join(exportsDir, `.staging-${job.id}-${process.ppid}-1`)
    for (const folder of [dead, live]) fs.mkdirSync(path.join(folder, 'adapter'), { recursive: true })
    service()
    expect(fs.existsSync(dead)).toBe(false)
    expect(fs.existsSync(live)).toBe(true)
    fs.rmSync(live, { recursive: true, force: true })
  })
})
