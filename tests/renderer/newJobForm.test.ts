/** The new-job form's own checks and where the host's field errors are shown. */
import { describe, expect, it } from 'vitest'
import { newJobInputSchema, type Preset } from '../../electron/shared/jobs'
import { applyPreset, checkNewJobForm, emptyForm, placeServerErrors } from '../../renderer/src/logic/newJobForm'

describe('checkNewJobForm', () => {
  it('sends only the model for an untouched self-test form', () => {
    const check = checkNewJobForm(emptyForm)
    expect(check).toEqual({ ok: true, input: { model: { kind: 'selftest' } } })
  })

  it('builds an input the contract accepts from filled-in fields', () => {
    const check = checkNewJobForm({
      ...emptyForm,
      modelKind: 'path',
      modelPath: ' /models/qwen ',
      datasetPath: '/data/train.jsonl',
      loraRank: '8',
      loraAlpha: '16',
      learningRate: '1e-4',
      epochs: '2',
      batchSize: '2',
      maxSeqLength: '512',
    })
    expect(check.ok).toBe(true)
    if (!check.ok) return
    expect(check.input).toEqual({
      model: { kind: 'path', path: '/models/qwen' },
      datasetPath: '/data/train.jsonl',
      lora: { rank: 8, alpha: 16 },
      learningRate: 1e-4,
      epochs: 2,
      batchSize: 2,
      maxSeqLength: 512,
    })
    expect(newJobInputSchema.safeParse(check.input).success).toBe(true)
  })

  it('names each field out of range with its allowed range', () => {
    const check = checkNewJobForm({ ...emptyForm, loraRank: '0', learningRate: '2', batchSize: '1.5', maxSeqLength: 'abc', epochs: '-1' })
    expect(check.ok).toBe(false)
    if (check.ok) return
    expect(check.errors).toEqual({
      'lora.rank': 'LoRA rank must be from 1 to 1024; it is 0.',
      learningRate: 'Learning rate must be above 0 and at most 1; it is 2.',
      batchSize: 'Batch size must be a whole number from 1 to 1024.',
      maxSeqLength: 'Max sequence length must be a number from 16 to 131072.',
      epochs: 'Epochs must be above 0 and at most 100; it is -1.',
    })
  })

  it('asks for the model and the dataset when not running the self-test', () => {
    const check = checkNewJobForm({ ...emptyForm, modelKind: 'path' })
    expect(check.ok).toBe(false)
    if (check.ok) return
    expect(Object.keys(check.errors).sort()).toEqual(['datasetPath', 'model.path'])
    expect(check.errors['model.path']).toMatch(/model folder/)
  })

  it('fills alpha as twice the rank when only the rank is given', () => {
    const check = checkNewJobForm({ ...emptyForm, loraRank: '4' })
    expect(check.ok && check.input.lora).toEqual({ rank: 4, alpha: 8 })
  })
})

describe('placeServerErrors', () => {
  it('puts known fields beside the field, config paths included, and the rest at the top', () => {
    const placed = placeServerErrors({
      'model.path': 'no such folder: /models/x',
      'dataset.path': 'line 3: not JSON',
      'training.learningRate': 'too large',
      'lora.rank': 'too large',
      'lora.dropout': 'must be below 0.9',
    })
    expect(placed.byField).toEqual({
      'model.path': 'no such folder: /models/x',
      datasetPath: 'line 3: not JSON',
      learningRate: 'too large',
      'lora.rank': 'too large',
    })
    expect(placed.general).toEqual(['lora.dropout: must be below 0.9'])
  })
})

describe('applyPreset', () => {
  it('fills the fields the preset sets and keeps the others', () => {
    const preset: Preset = { id: 'small', name: 'Small', description: '', lora: { rank: 8 }, training: { learningRate: 0.0003 } }
    const values = applyPreset({ ...emptyForm, batchSize: '2' }, preset)
    expect(values).toMatchObject({ preset: 'small', loraRank: '8', learningRate: '0.0003', batchSize: '2', loraAlpha: '' })
    expect(applyPreset(values, undefined).preset).toBe('')
  })
})
