/**
 * The form's refusals from the dataset preview: a file that cannot be read or
 * has no usable row refuses Start with the reason; a missing file or one not
 * read yet is left to the host; a dataset shaped for another method says so.
 */
import { describe, expect, it } from 'vitest'
import type { DatasetPreview, TokenPreview } from '@shared/datasets'
import { datasetRefusal, estimateSteps, methodForFormat } from '../../renderer/src/logic/datasetChecks'

const base: DatasetPreview = {
  ok: true,
  path: '/d/train.jsonl',
  format: 'openai',
  badRows: 'fail',
  rows: 3,
  usable: 3,
  skipped: 0,
  columns: ['messages'],
  records: [],
  errors: [],
  error: null,
  tokens: null,
  tokenError: null,
  needsReading: false,
  sample: [],
  suggestion: null,
  mix: null,
}

describe('datasetRefusal', () => {
  it('refuses a broken file with its reason, and an empty one naming the first bad row', () => {
    expect(datasetRefusal({ status: 'done', preview: { ...base, ok: false, error: 'train.jsonl line 1: not valid JSON.' } })).toBe(
      'train.jsonl line 1: not valid JSON.',
    )
    const empty = {
      ...base,
      usable: 0,
      skipped: 3,
      errors: [{ row: 1, unit: 'line', field: 'messages', message: 'train.jsonl line 1: field "messages": missing.' }],
    }
    expect(datasetRefusal({ status: 'done', preview: empty })).toBe(
      '/d/train.jsonl has no usable rows (3 read); the first problem: train.jsonl line 1: field "messages": missing. Fix the file or the column mapping.',
    )
  })

  it('lets a good file, a file still being read and a missing one through', () => {
    expect(datasetRefusal({ status: 'done', preview: base })).toBeNull()
    expect(datasetRefusal({ status: 'loading', progress: null, cancel: () => undefined, path: '/d/train.jsonl' })).toBeNull()
    expect(datasetRefusal({ status: 'failed', path: '/nope', error: 'no dataset file at /nope' })).toBeNull()
  })
})

describe('methodForFormat', () => {
  it('offers DPO for preference pairs and KTO for feedback under SFT', () => {
    expect(methodForFormat('preference', 'sft')).toMatchObject({ method: 'dpo' })
    expect(methodForFormat('feedback', 'sft')).toMatchObject({ method: 'kto' })
    expect(methodForFormat('feedback', 'kto')).toBeNull()
  })

  it('offers SFT for conversations under a preference method, and nothing when they agree', () => {
    expect(methodForFormat('openai', 'dpo')).toMatchObject({ method: 'sft' })
    expect(methodForFormat('alpaca', 'sft')).toBeNull()
  })
})

describe('estimateSteps', () => {
  const tokens: TokenPreview = {
    tokenizer: 'default',
    examples: [],
    histogram: [],
    overLength: 0,
    blocks: null,
    learnedTokens: 500,
    trainable: 96,
    packedRows: 10,
    toolsLost: 0,
    sides: [],
  }
  const settings = { batchSize: 8, gradientAccumulation: 1, epochs: 3, maxSteps: null, packing: false, validationSplit: 0 }

  it('counts steps per epoch from the examples, or from the packed rows', () => {
    expect(estimateSteps(tokens, settings)).toBe(36) // 96 / 8 = 12 per epoch
    expect(estimateSteps(tokens, { ...settings, packing: true })).toBe(6) // 10 rows: 2 batches per epoch
    expect(estimateSteps(tokens, { ...settings, gradientAccumulation: 4, epochs: 0.5 })).toBe(2) // ceil(12 / 4) = 3 per epoch; half an epoch is 1.5, so 2
  })

  it('holds out the validation share and honours max steps', () => {
    expect(estimateSteps(tokens, { ...settings, validationSplit: 0.25 })).toBe(27) // 72 rows: 9 per epoch
    expect(estimateSteps(tokens, { ...settings, maxSteps: 5 })).toBe(5)
  })
})
