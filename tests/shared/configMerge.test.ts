/** Which value wins in a new job's config: defaults < self-test < preset < user < checkpoint, as a table. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { jobConfigSchema, jobSettingsSchema, mergeJobConfig, presetSchema, type ConfigLayers, type JobConfig } from '@shared'

const resources = join(__dirname, '..', '..', 'resources')
const readJson = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(resources, file), 'utf8')) as Record<string, unknown>
const { description: _description, datasetFile: _datasetFile, ...selftestFile } = readJson('selftest/job.json')
const selftestSettings = jobSettingsSchema.parse(selftestFile)
const efficient = presetSchema.parse({ id: 'efficient', ...readJson('presets/efficient.json') })

const base: ConfigLayers = { jobId: 'j', model: { path: '/models/base', selftest: false }, datasetPath: '/data/train.jsonl', user: {} }
const defaults = jobConfigSchema.parse({ version: 1, jobId: 'j', model: { path: '/models/base' }, dataset: { path: '/data/train.jsonl' } })

/** Reads a dotted path out of a config. */
function at(config: JobConfig, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown>)[key], config)
}

const checkpoint: NonNullable<ConfigLayers['checkpoint']> = {
  folder: '/jobs/a/checkpoints/step-6',
  model: { path: '/models/trained-on', selftest: false },
  lora: { rank: 8, alpha: 16, targetModules: ['q_proj'], dora: true },
}

const table: Array<{ case: string; layers: Partial<ConfigLayers>; expect: Record<string, unknown> }> = [
  {
    case: 'nothing set: the defaults',
    layers: {},
    expect: { method: 'sft', 'lora.rank': defaults.lora.rank, 'training.epochs': defaults.training.epochs, 'model.quantization': 'none' },
  },
  {
    case: 'the self-test’s own settings over the defaults',
    layers: { selftest: selftestSettings },
    expect: { 'training.learningRate': 0.01, 'training.packing': false, 'dataset.format': 'alpaca', 'lora.dropout': 0 },
  },
  {
    case: 'a preset over the self-test',
    layers: { selftest: selftestSettings, preset: { training: { learningRate: 0.001 } } },
    expect: { 'training.learningRate': 0.001, 'training.epochs': 3 },
  },
  {
    case: 'the user over the preset',
    layers: { preset: { lora: { rank: 64, alpha: 64 } }, user: { lora: { rank: 4 } } },
    expect: { 'lora.rank': 4, 'lora.alpha': 64 },
  },
  {
    case: 'a field the user leaves undefined keeps the preset’s',
    layers: { preset: { training: { epochs: 2 } }, user: { training: { epochs: undefined } } },
    expect: { 'training.epochs': 2 },
  },
  {
    case: 'a list is replaced whole, not merged',
    layers: { preset: { lora: { targetModules: ['q_proj', 'v_proj'] } }, user: { lora: { targetModules: ['o_proj'] } } },
    expect: { 'lora.targetModules': ['o_proj'] },
  },
  {
    case: 'the user’s method over the preset’s',
    layers: { preset: { method: 'dpo' }, user: { method: 'kto', kto: { desirableWeight: 2 } } },
    expect: { method: 'kto', 'kto.desirableWeight': 2, 'kto.beta': 0.1 },
  },
  {
    case: 'a preset’s 4-bit applies, with gradient checkpointing',
    layers: { preset: efficient },
    expect: { 'model.quantization': '4bit', 'training.gradientCheckpointing': true, 'training.batchSize': 1 },
  },
  {
    case: 'the user declines the preset’s 4-bit: no gradient checkpointing',
    layers: { preset: efficient, user: { model: { quantization: 'none' } } },
    expect: { 'model.quantization': 'none', 'training.gradientCheckpointing': false },
  },
  {
    case: '4-bit, but the user turned gradient checkpointing off',
    layers: { user: { model: { quantization: '4bit' }, training: { gradientCheckpointing: false } } },
    expect: { 'model.quantization': '4bit', 'training.gradientCheckpointing': false },
  },
  {
    case: 'the checkpoint’s model and LoRA shape over everything',
    layers: { preset: { lora: { rank: 64, dropout: 0.2 } }, user: { lora: { alpha: 4 } }, checkpoint },
    expect: {
      'model.path': '/models/trained-on',
      'lora.rank': 8,
      'lora.alpha': 16,
      'lora.targetModules': ['q_proj'],
      'lora.dora': true,
      'lora.dropout': 0.2,
      initFrom: checkpoint.folder,
    },
  },
  {
    case: 'the checkpoint leaves training settings to the user',
    layers: { user: { training: { epochs: 5 } }, checkpoint },
    expect: { 'training.epochs': 5, initOptimizer: false },
  },
  {
    case: 'the checkpoint’s optimizer continues when asked',
    layers: { checkpoint: { ...checkpoint, optimizer: true } },
    expect: { initFrom: checkpoint.folder, initOptimizer: true },
  },
  { case: 'no checkpoint, no optimizer to continue', layers: {}, expect: { initFrom: null, initOptimizer: false } },
  {
    case: 'the dataset path is the host’s, its settings the layers’',
    layers: { selftest: selftestSettings, user: { dataset: { format: 'text', validationSplit: 0.1 } } },
    expect: { 'dataset.path': '/data/train.jsonl', 'dataset.format': 'text', 'dataset.validationSplit': 0.1 },
  },
]

describe('mergeJobConfig', () => {
  it.each(table)('$case', ({ layers, expect: wanted }) => {
    const merged = mergeJobConfig({ ...base, ...layers })
    expect(merged.error?.issues).toBeUndefined()
    for (const [dotted, value] of Object.entries(wanted)) expect(at(merged.data!, dotted), dotted).toEqual(value)
  })

  it('fills every default and nothing else: no resume, the job id given', () => {
    const merged = mergeJobConfig(base)
    expect(merged.data).toEqual(defaults)
  })

  it('refuses a value out of range, naming its config path', () => {
    const merged = mergeJobConfig({ ...base, user: { training: { batchSize: 0 } } })
    expect(merged.success).toBe(false)
    expect(merged.error!.issues[0]!.path).toEqual(['training', 'batchSize'])
  })
})
