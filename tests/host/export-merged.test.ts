/**
 * Export of the merged model and of a checkpoint, from a real self-test job that saved a
 * periodic checkpoint: the merged zip holds a plain transformers model folder (no adapter,
 * 16-bit shards) that loads without peft and predicts as base plus adapter; a checkpoint's zip
 * holds that checkpoint's adapter with the base's tokenizer. Needs TUNEDECK_PYTHON.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Job } from '@shared/jobs'
import { ExportService } from '../../electron/host/exports/service'
import { Harness, pythonRuntimeDir, temporaryDir } from './jobs.harness'
import { extractZip, zipEntries } from './export.helpers'
import { trainerPython } from './trainerPython'

const dataDir = temporaryDir('tunedeck-export-merged-')
const python = trainerPython()
let h: Harness
let job: Job
let exports: ExportService

// Loads the merged folder with transformers alone and compares it with base plus the job's adapter.
const compareMerged = `
import sys, torch
from transformers import AutoModelForCausalLM
merged_dir, base_dir, adapter_dir = sys.argv[1:4]
ids = torch.tensor([[3, 17, 45, 99, 250, 4, 3, 61, 62, 63]])
merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype="auto").eval()
dtype = str(next(merged.parameters()).dtype)
peft_loaded = "peft" in sys.modules
from peft import PeftModel
reference = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32), adapter_dir).eval()
with torch.no_grad():
    a, b = merged.float()(ids).logits, reference(ids).logits
print(dtype, peft_loaded, ((a - b).abs().max() / b.abs().max()).item(), (a.argmax(-1) == b.argmax(-1)).float().mean().item())
`

beforeAll(async () => {
  h = new Harness(dataDir)
  await h.service.start()
  job = await h.waitForStatus(
    h.service.create({ model: { selftest: true }, training: { epochs: 1, checkpointEvery: 6 } }).id,
    ['completed', 'failed'],
    180_000,
  )
  expect(job.status).toBe('completed')
  exports = new ExportService({
    dataDir,
    appVersion: '0.1.0-test',
    pythonRuntimeDir,
    resolvePython: async () => python,
    getJob: (id) => h.service.get(id),
    emit: () => undefined,
  })
}, 240_000)

afterAll(async () => {
  await h.service.shutdown()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

describe('merged and checkpoint exports', () => {
  it('writes the merged model as 16-bit safetensors that transformers loads without peft', async () => {
    const result = await exports.start({ jobId: job.id, checkpoint: null, merged: true })
    expect(result.path).toBe(path.join(dataDir, 'exports', 'Self-test-merged.zip'))
    const names = (await zipEntries(result.path)).map((entry) => entry.name)
    for (const name of [
      'merged/model.safetensors',
      'merged/config.json',
      'merged/tokenizer.json',
      'merged/generation_config.json',
      'Modelfile',
      'README.md',
      'manifest.json',
    ]) {
      expect(names).toContain(name)
    }
    expect(names.some((name) => name.startsWith('adapter'))).toBe(false)
    const unzipped = temporaryDir('tunedeck-merged-')
    try {
      await extractZip(result.path, unzipped)
      expect(fs.readFileSync(path.join(unzipped, 'Modelfile'), 'utf8')).toMatch(/^FROM \.\/merged$/m)
      expect(fs.readFileSync(path.join(unzipped, 'README.md'), 'utf8')).toContain('The merged model from job')
      const [dtype, peftLoaded, difference, agreement] = execFileSync(
        python,
        ['-c', compareMerged, path.join(unzipped, 'merged'), job.config.model.path, path.join(h.jobDir(job.id), 'adapter')],
        { env: { ...process.env, PYTHONPATH: pythonRuntimeDir, OMP_NUM_THREADS: '1' }, encoding: 'utf8' },
      )
        .trim()
        .split(' ')
      expect(dtype).toBe('torch.bfloat16')
      expect(peftLoaded).toBe('False')
      // bf16 keeps 8 bits of mantissa: logits move by about a percent of their range, the predicted tokens
      // stay but for near ties (fp32 is checked to 1e-4 in test_export.py).
      console.log(
        `merged bf16 vs base+adapter fp32: largest logit difference ${(Number(difference) * 100).toFixed(2)}% of the largest logit; same argmax at ${Number(agreement) * 100}% of positions`,
      )
      expect(Number(difference)).toBeLessThan(0.03)
      expect(Number(agreement)).toBeGreaterThanOrEqual(0.9)
    } finally {
      fs.rmSync(unzipped, { recursive: true, force: true })
    }
  }, 180_000)

  it("exports a checkpoint's adapter with the base's tokenizer", async () => {
    const checkpoint = h.service.checkpoints(job.id)[0]
    expect(checkpoint).toBeDefined()
    const name = checkpoint?.name as string
    const plan = await exports.plan({ jobId: job.id, checkpoint: name })
    expect(plan.defaultDestination).toBe(path.join(dataDir, 'exports', `Self-test-${name}.zip`))
    const result = await exports.start({ jobId: job.id, checkpoint: name, merged: false })
    const unzipped = temporaryDir('tunedeck-checkpoint-')
    try {
      await extractZip(result.path, unzipped)
      const exported = fs.readFileSync(path.join(unzipped, 'adapter', 'adapter_model.safetensors'))
      expect(exported.equals(fs.readFileSync(path.join(h.jobDir(job.id), 'checkpoints', name, 'adapter_model.safetensors')))).toBe(true)
      expect(fs.existsSync(path.join(unzipped, 'adapter', 'tokenizer.json'))).toBe(true)
      expect(fs.readFileSync(path.join(unzipped, 'README.md'), 'utf8')).toContain(`checkpoint "${name}" of job ${job.id}`)
    } finally {
      fs.rmSync(unzipped, { recursive: true, force: true })
    }
  }, 120_000)

  it('writes the merged model as one q8_0 model.gguf that llama.cpp runs alone, and the Modelfile runs it', async () => {
    const plan = await exports.plan({ jobId: job.id, checkpoint: null })
    const offered = Object.fromEntries((plan.compatibility.mergedGguf ?? []).map((offer) => [offer.type, offer.offered]))
    expect(offered).toEqual({ f16: true, q8_0: true, q4_0: true, q4_K_M: false })
    expect(plan.compatibility.mergedGguf?.find((offer) => offer.type === 'q4_K_M')?.reason).toContain("llama.cpp's llama-quantize on PATH")
    const refused = await exports
      .start({ jobId: job.id, checkpoint: null, merged: false, ggufType: 'q4_K_M' })
      .catch((error: Error) => error)
    expect((refused as Error).message).toContain('ggufType: q4_K_M is not offered for this model')

    const result = await exports.start({ jobId: job.id, checkpoint: null, merged: false, ggufType: 'q8_0' })
    expect(result.path).toBe(path.join(dataDir, 'exports', 'Self-test-q8_0.zip'))
    const unzipped = temporaryDir('tunedeck-gguf-')
    try {
      await extractZip(result.path, unzipped)
      const modelfile = fs.readFileSync(path.join(unzipped, 'Modelfile'), 'utf8')
      expect(modelfile).toMatch(/^FROM \.\/model\.gguf$/m)
      expect(modelfile).not.toMatch(/^ADAPTER/m)
      expect(fs.readFileSync(path.join(unzipped, 'README.md'), 'utf8')).toContain('llama-cli -m model.gguf -cnv')
      // llama.cpp itself loads the file alone (no base, no adapter), reads its q8_0 type, and generates.
      const { getLlama, LlamaLogLevel } = await import('node-llama-cpp')
      const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error })
      const model = await llama.loadModel({ modelPath: path.join(unzipped, 'model.gguf') })
      try {
        expect(model.fileInfo.metadata.general.architecture).toBe('llama')
        expect(model.fileInfo.metadata.general.file_type).toBe(7) // LLAMA_FTYPE_MOSTLY_Q8_0
        const context = await model.createContext({ contextSize: 128 })
        const generated: number[] = []
        for await (const output of context
          .getSequence()
          .evaluateWithMetadata(model.tokenize('What is two plus two?'), {}, { temperature: 0 })) {
          generated.push(output.token)
          if (generated.length >= 4) break
        }
        expect(generated.length).toBeGreaterThan(0)
        await context.dispose()
      } finally {
        await model.dispose()
        await llama.dispose()
      }
    } finally {
      fs.rmSync(unzipped, { recursive: true, force: true })
    }
  }, 180_000)
})
