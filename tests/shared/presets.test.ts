import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { jobConfigSchema, presetSchema } from '../../electron/shared'

const presetsDir = join(__dirname, '..', '..', 'resources', 'presets')
const presets = readdirSync(presetsDir)
  .filter((name) => name.endsWith('.json'))
  .map((name) => ({ name, preset: presetSchema.parse(JSON.parse(readFileSync(join(presetsDir, name), 'utf8'))) }))

describe('presets', () => {
  it('ships the eight presets users expect, each saying when to use it', () => {
    expect(presets.map(({ preset }) => preset.name).sort()).toEqual(
      ['Advanced fine-tune', 'Basic fine-tune', 'Chatbot personality', 'Coding assistant', 'Domain expert', 'Efficient (QLoRA)', 'Multilingual', 'Q&A'],
    )
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
        model: { path: '/models/base' },
        dataset: { path: '/data/train.jsonl' },
        lora: preset.lora,
        training: preset.training,
      })
      expect(config.success, `${preset.id}: ${JSON.stringify(config.error?.issues)}`).toBe(true)
    }
  })
})
