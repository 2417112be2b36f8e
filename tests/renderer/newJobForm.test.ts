/** The new-job form's own checks and where the host's field errors are shown. */
import { describe, expect, it } from 'vitest'
import { newJobInputSchema, type Job, type Preset } from '../../electron/shared/jobs'
import { applyPreset, checkNewJobForm, emptyForm, formFromCheckpoint, placeServerErrors } from '../../renderer/src/logic/newJobForm'

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
      checkpointEvery: '50',
      keepCheckpoints: '3',
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
      checkpointEvery: 50,
      keepCheckpoints: 3,
    })
    expect(newJobInputSchema.safeParse(check.input).success).toBe(true)
  })

  it('refuses a periodic checkpoint count below one', () => {
    const check = checkNewJobForm({ ...emptyForm, keepCheckpoints: '0', checkpointEvery: '-5' })
    expect(check.ok).toBe(false)
    if (check.ok) return
    expect(check.errors.keepCheckpoints).toBe('Periodic checkpoints kept must be from 1 to 100; it is 0.')
    expect(check.errors.checkpointEvery).toBe('Checkpoint every must be from 0 to 1000000; it is -5.')
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

describe('method, format, 4-bit and presets', () => {
  it('sends the method, format and 4-bit loading only when they differ from the defaults', () => {
    const check = checkNewJobForm({ ...emptyForm, modelKind: 'path', modelPath: '/m', datasetPath: '/d.json', method: 'dpo', datasetFormat: 'preference', quantization: '4bit' })
    expect(check.ok && check.input).toEqual({ model: { kind: 'path', path: '/m' }, datasetPath: '/d.json', method: 'dpo', datasetFormat: 'preference', quantization: '4bit' })
    expect(check.ok && newJobInputSchema.safeParse(check.input).success).toBe(true)
    // The self-test ignores a format chosen before switching to it: its own data has one.
    expect(checkNewJobForm({ ...emptyForm, datasetFormat: 'text' })).toEqual({ ok: true, input: { model: { kind: 'selftest' } } })
  })

  it('fills every setting a preset has, and the user can still change them after', () => {
    const preset: Preset = {
      id: 'basic',
      name: 'Basic',
      description: 'A safe start',
      lora: { rank: 16, alpha: 32, dropout: 0.05 },
      training: { learningRate: 0.0002, epochs: 3, batchSize: 4, maxSeqLength: 1024, packing: true },
    }
    const values = applyPreset(emptyForm, preset)
    expect(values).toMatchObject({ loraRank: '16', loraAlpha: '32', learningRate: '0.0002', epochs: '3', batchSize: '4', maxSeqLength: '1024' })
    const check = checkNewJobForm({ ...values, epochs: '1' })
    expect(check.ok && check.input).toMatchObject({ preset: 'basic', epochs: 1, lora: { rank: 16, alpha: 32 } })
  })
})

describe('a job from another job’s checkpoint', () => {
  const source = {
    id: 'job-1',
    name: 'my run',
    config: {
      method: 'sft',
      model: { path: '/models/qwen', selftest: false, quantization: 'none' },
      dataset: { path: '/data/train.jsonl', format: 'alpaca' },
      lora: { rank: 8, alpha: 16 },
    },
  } as unknown as Job

  it('keeps the model and data of the source job and shows its LoRA shape', () => {
    const values = formFromCheckpoint(source, { name: 'step-40' })
    expect(values).toMatchObject({ modelKind: 'path', modelPath: '/models/qwen', datasetPath: '/data/train.jsonl', datasetFormat: 'alpaca', loraRank: '8', loraAlpha: '16' })
    expect(values.initFrom).toEqual({ jobId: 'job-1', checkpoint: 'step-40', jobName: 'my run' })
  })

  it('sends initFrom and no LoRA shape, since the host takes it from the checkpoint', () => {
    const check = checkNewJobForm(formFromCheckpoint(source, { name: 'step-40' }))
    expect(check.ok && check.input).toEqual({
      model: { kind: 'path', path: '/models/qwen' },
      datasetPath: '/data/train.jsonl',
      datasetFormat: 'alpaca',
      initFrom: { jobId: 'job-1', checkpoint: 'step-40' },
    })
  })

  it('keeps the checkpoint’s rank and alpha when a preset is chosen', () => {
    const preset: Preset = { id: 'big', name: 'Big', description: '', lora: { rank: 64, alpha: 128 }, training: { epochs: 2 } }
    const values = applyPreset(formFromCheckpoint(source, { name: 'step-40' }), preset)
    expect(values).toMatchObject({ loraRank: '8', loraAlpha: '16', epochs: '2' })
  })

  it('starts a self-test checkpoint with the self-test model and its bundled data', () => {
    const selftest = { ...source, config: { ...source.config, model: { path: '/data/selftest-model', selftest: true, quantization: 'none' } } } as Job
    const check = checkNewJobForm(formFromCheckpoint(selftest, { name: 'pause-12' }))
    expect(check.ok && check.input).toEqual({ model: { kind: 'selftest' }, initFrom: { jobId: 'job-1', checkpoint: 'pause-12' } })
  })

  it('places the host’s initFrom and format errors beside their fields', () => {
    const placed = placeServerErrors({ initFrom: 'checkpoint "x" does not exist', 'dataset.format': 'not a format', method: 'unknown' })
    expect(placed.byField).toEqual({ initFrom: 'checkpoint "x" does not exist', datasetFormat: 'not a format', method: 'unknown' })
  })
})
