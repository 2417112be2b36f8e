/** The method table (electron/shared/methods.ts): what the form, the merge and the trainer read about methods. */
import { describe, expect, it } from 'vitest'
import {
  datasetFormats,
  jobConfigSchema,
  jobSettingsSchema,
  mergeJobConfig,
  methodForFormat,
  methods,
  methodTable,
  methodsFor,
  sectionMethods,
  settingSections,
} from '@shared'

describe('the method table', () => {
  it('gives every dataset format a method, and every method with settings its own section of config.json', () => {
    for (const format of datasetFormats.filter((name) => name !== 'auto')) expect(methodsFor(format), format).not.toEqual([])
    expect(sectionMethods).toEqual(['dpo', 'kto', 'orpo'])
    expect(settingSections).toEqual(['model', 'dataset', 'lora', 'training', 'dpo', 'kto', 'orpo'])
    const defaults = jobConfigSchema.parse({ version: 1, jobId: 'j', model: { path: '/m' }, dataset: { path: '/d' } })
    expect(defaults.orpo).toEqual({ beta: 0.1 })
    expect(jobSettingsSchema.safeParse({ orpo: { beta: 0 } }).success).toBe(false)
    expect(methods.filter((name) => methodTable[name].reference)).toEqual(['dpo', 'kto'])
  })

  it('suggests the first method that trains on a format, and nothing when the chosen one does', () => {
    expect(methodForFormat('preference', 'sft')).toEqual({ method: 'dpo', what: 'preference pairs (prompt, chosen and rejected)' })
    expect(methodForFormat('preference', 'orpo')).toBeNull()
    expect(methodForFormat('feedback', 'orpo')).toMatchObject({ method: 'kto' })
    expect(methodForFormat('openai', 'orpo')).toEqual({ method: 'sft', what: 'conversations' })
    expect(methodForFormat('nonesuch', 'sft')).toBeNull()
  })

  it('carries a method’s settings through the layers like any other section', () => {
    const merged = mergeJobConfig({
      jobId: 'j',
      model: { path: '/m', selftest: false },
      datasetPath: '/d',
      preset: { orpo: { beta: 0.3 } },
      user: { method: 'orpo' },
    })
    expect(merged.success && [merged.data.method, merged.data.orpo.beta]).toEqual(['orpo', 0.3])
  })
})
