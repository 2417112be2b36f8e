import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { jobConfigSchema, presetSchema } from '@shared'

const presetsDir = join(__dirname, '..', '..', 'resources', 'presets')
const presets = readdirSync(presetsDir)
  .filter((name) => name.endsWith('.json'))
  .map((name) => ({ name, preset: presetSchema.parse(JSON.parse(readFileSync(join(presetsDir, name), 'utf8'))) }))

describe('presets', () => {
  it('ships the eight presets users expect, each saying when to use it', () => {
    expect(presets.map(({ preset }) => preset.name).sort()).toEqual([
      'Advanced fine-tune',
      'Basic fine-tune',
      'Chatbot personality',
      'Coding assistant',
      'Domain expert',
      'Efficient (QLoRA)',
      'Multilingual',
      'Q&A',
    ])
    for (const { name, preset } of presets) {
      expect(`${preset.id}.json`).toBe(name)
      expect(preset.description.length, preset.id).toBeGreaterThan(60)
    }
  })

  it('each makes a valid job config', () => {
    for (const { preset } of presets) {
      const config = jobConfigSchema.safeParse({
        version: 1,
        jobId: 'x',
        model: { path: '/models/base', ...preset.model },
        dataset: { path: '/data/train.jsonl' },
        lora: preset.lora,
        training: preset.training,
      })
      expect(config.success, `${preset.id}: ${JSON.stringify(config.error?.issues)}`).toBe(true)
    }
  })

  it('each sets every setting the form shows, so switching presets leaves nothing of the last one', () => {
    for (const { preset } of presets) {
      expect(Object.keys(preset.lora ?? {}), preset.id).toEqual(expect.arrayContaining(['rank', 'alpha', 'dropout', 'targetModules']))
      expect(Object.keys(preset.training ?? {}), preset.id).toEqual(
        expect.arrayContaining(['learningRate', 'epochs', 'batchSize', 'gradientAccumulation', 'maxSeqLength', 'packing']),
      )
    }
  })

  it('turns on 4-bit loading for the Efficient (QLoRA) preset only, and says it needs a CUDA GPU', () => {
    const quantized = presets.filter(({ preset }) => preset.model?.quantization === '4bit').map(({ preset }) => preset)
    expect(quantized.map((preset) => preset.id)).toEqual(['efficient'])
    expect(quantized[0]!.description).toMatch(/4-bit/)
    expect(quantized[0]!.description).toMatch(/NVIDIA GPU with CUDA/)
  })
})

describe('presetSchema', () => {
  const base = { id: 'p', name: 'P', description: 'd' }

  it('keeps only what the preset sets: no defaults filled in that would override the self-test or the host', () => {
    const preset = presetSchema.parse({ ...base, lora: { rank: 8 }, training: { epochs: 2 } })
    expect(preset).toEqual({ ...base, lora: { rank: 8 }, training: { epochs: 2 } })
    expect(presetSchema.parse({ ...base, model: {}, lora: {}, training: {} }).model).toEqual({})
  })

  it('lets a preset set how the model is loaded, but not which model', () => {
    expect(presetSchema.parse({ ...base, model: { quantization: '4bit' }, lora: {}, training: {} }).model).toEqual({ quantization: '4bit' })
    expect(presetSchema.safeParse({ ...base, model: { quantization: '8bit' }, lora: {}, training: {} }).success).toBe(false)
    const withPath = presetSchema.safeParse({ ...base, model: { path: '/models/x' }, lora: {}, training: {} })
    expect(withPath.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['path'] })
  })

  it('refuses a setting the config does not have, or one out of range', () => {
    expect(presetSchema.safeParse({ ...base, lora: { rnak: 8 }, training: {} }).success).toBe(false)
    expect(presetSchema.safeParse({ ...base, lora: {}, training: { epochs: 0 } }).success).toBe(false)
  })
})
