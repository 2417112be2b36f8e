/** The new-job form's own checks and where the host's field errors are shown. */
import { describe, expect, it } from 'vitest'
import { newJobInputSchema, type Job, type Preset } from '../../electron/shared/jobs'
import type { GpuSample, SystemInfo } from '../../electron/shared/system'
import { cudaPresent, quantizationNote } from '../../renderer/src/logic/advancedSettings'
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
      'training.warmupRatio': 'must be at most 0.5',
    })
    expect(placed.byField).toEqual({
      'model.path': 'no such folder: /models/x',
      datasetPath: 'line 3: not JSON',
      learningRate: 'too large',
      'lora.rank': 'too large',
    })
    expect(placed.general).toEqual(['training.warmupRatio: must be at most 0.5'])
  })

  it('puts the Advanced section’s errors beside their fields, by input or config name', () => {
    const placed = placeServerErrors({
      loraDropout: 'too big',
      'lora.targetModules.1': 'expected a module name',
      'columns.prompt': '"prompt" is not mapped',
      'dataset.validationSplit': 'at most 0.5',
      'training.gradientAccumulation': 'at least 1',
      dpoBeta: 'above 0',
      badRows: 'fail or skip',
    })
    expect(placed.byField).toEqual({
      'lora.dropout': 'too big',
      'lora.targetModules': '1: expected a module name',
      columns: 'prompt: "prompt" is not mapped',
      validationSplit: 'at most 0.5',
      gradientAccumulation: 'at least 1',
      'dpo.beta': 'above 0',
      badRows: 'fail or skip',
    })
    expect(placed.general).toEqual([])
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
      dataset: { path: '/data/train.jsonl', format: 'alpaca', columns: {}, badRows: 'fail', validationSplit: 0 },
      lora: { rank: 8, alpha: 16, dropout: 0.05, targetModules: ['q_proj', 'v_proj'], rslora: true, dora: false },
    },
  } as unknown as Job

  it('keeps the model and data of the source job and shows its LoRA shape', () => {
    const values = formFromCheckpoint(source, { name: 'step-40' })
    expect(values).toMatchObject({ modelKind: 'path', modelPath: '/models/qwen', datasetPath: '/data/train.jsonl', datasetFormat: 'alpaca', loraRank: '8', loraAlpha: '16' })
    expect(values).toMatchObject({ loraDropout: '0.05', targetModules: 'q_proj, v_proj', rslora: true, dora: false, badRows: 'fail', columns: [] })
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
    const preset: Preset = { id: 'big', name: 'Big', description: '', lora: { rank: 64, alpha: 128, dropout: 0.1, targetModules: 'all-linear' }, training: { epochs: 2 } }
    const values = applyPreset(formFromCheckpoint(source, { name: 'step-40' }), preset)
    expect(values).toMatchObject({ loraRank: '8', loraAlpha: '16', epochs: '2', loraDropout: '0.05', targetModules: 'q_proj, v_proj', rslora: true })
    // Nor are they sent: the checkpoint's LoRA settings win on the host.
    const check = checkNewJobForm(values)
    expect(check.ok && check.input).not.toHaveProperty('loraDropout')
    expect(check.ok && check.input).not.toHaveProperty('targetModules')
    expect(check.ok && check.input).not.toHaveProperty('rslora')
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

describe('the Advanced section', () => {
  const custom = { ...emptyForm, modelKind: 'path' as const, modelPath: '/m', datasetPath: '/d.csv' }

  it('sends what was typed, in the contract’s names', () => {
    const check = checkNewJobForm({
      ...custom,
      method: 'dpo',
      gradientAccumulation: '8',
      validationSplit: '0.1',
      badRows: 'skip',
      packing: 'off',
      trainOnInputs: true,
      loraDropout: '0',
      targetModules: ' q_proj , v_proj ',
      rslora: true,
      dora: true,
      dpoBeta: '0.2',
      columns: [
        { field: 'prompt', column: 'question' },
        { field: '', column: '' },
        { field: 'chosen', column: 'good' },
      ],
    })
    expect(check.ok && check.input).toEqual({
      model: { kind: 'path', path: '/m' },
      datasetPath: '/d.csv',
      method: 'dpo',
      gradientAccumulation: 8,
      validationSplit: 0.1,
      badRows: 'skip',
      columns: { prompt: 'question', chosen: 'good' },
      packing: false,
      trainOnInputs: true,
      loraDropout: 0,
      targetModules: ['q_proj', 'v_proj'],
      rslora: true,
      dora: true,
      dpoBeta: 0.2,
    })
    expect(check.ok && newJobInputSchema.safeParse(check.input).success).toBe(true)
  })

  it('leaves out what is empty or the default, and DPO beta for SFT', () => {
    const check = checkNewJobForm({ ...custom, targetModules: 'all-linear', dpoBeta: '-3', badRows: 'fail', packing: '' })
    expect(check.ok && check.input).toEqual({ model: { kind: 'path', path: '/m' }, datasetPath: '/d.csv', targetModules: 'all-linear' })
    // The self-test's bundled data has its own columns.
    expect(checkNewJobForm({ ...emptyForm, columns: [{ field: 'output', column: 'answer' }] })).toEqual({ ok: true, input: { model: { kind: 'selftest' } } })
  })

  it('names each Advanced field out of range', () => {
    const check = checkNewJobForm({
      ...custom,
      method: 'dpo',
      gradientAccumulation: '0',
      validationSplit: '0.6',
      loraDropout: '1',
      targetModules: 'q proj, v_proj',
      dpoBeta: '0',
      columns: [{ field: 'output', column: '' }],
    })
    expect(check.ok).toBe(false)
    if (check.ok) return
    expect(check.errors).toEqual({
      gradientAccumulation: 'Gradient accumulation must be from 1 to 1024; it is 0.',
      validationSplit: 'Validation split must be from 0 to 0.5; it is 0.6.',
      'lora.dropout': 'LoRA dropout must be from 0 to 0.9; it is 1.',
      'dpo.beta': 'DPO beta must be above 0 and at most 10; it is 0.',
      'lora.targetModules': 'LoRA target modules must be "all-linear" or module names separated by commas, such as q_proj, v_proj; "q proj" is not a module name.',
      columns: 'Column mapping: name the file\'s column that holds "output".',
    })
  })

  it('refuses a column mapping with a field mapped twice or no field chosen', () => {
    const twice = checkNewJobForm({ ...custom, columns: [{ field: 'output', column: 'a' }, { field: 'output', column: 'b' }] })
    expect(!twice.ok && twice.errors.columns).toBe('Column mapping: "output" is mapped twice; keep one row for it.')
    const noField = checkNewJobForm({ ...custom, columns: [{ field: '', column: 'answer' }] })
    expect(!noField.ok && noField.errors.columns).toMatch(/^Column mapping: choose one of Tunedeck's fields \(instruction, input, output/)
  })

  it('sends switches that are off while a preset is chosen, so unticking beats the preset', () => {
    const preset: Preset = { id: 'advanced', name: 'Advanced', description: '', lora: { rslora: true }, training: { packing: true, gradientAccumulation: 8 } }
    const values = applyPreset(custom, preset)
    expect(values).toMatchObject({ rslora: true, packing: 'on', gradientAccumulation: '8', trainOnInputs: false, dora: false })
    const check = checkNewJobForm({ ...values, rslora: false })
    expect(check.ok && check.input).toMatchObject({ preset: 'advanced', rslora: false, dora: false, trainOnInputs: false, packing: true, gradientAccumulation: 8, quantization: 'none' })
  })
})

describe('a preset that loads the model in 4-bit', () => {
  const efficient: Preset = { id: 'efficient', name: 'Efficient (QLoRA)', description: '', model: { quantization: '4bit' }, lora: {}, training: { batchSize: 1 } }
  const basic: Preset = { id: 'basic', name: 'Basic', description: '', lora: {}, training: {} }

  it('ticks 4-bit where there is a CUDA GPU, and leaves it off with a note where there is none', () => {
    expect(applyPreset(emptyForm, efficient, true).quantization).toBe('4bit')
    expect(quantizationNote(efficient, true)).toBeNull()
    const withoutGpu = applyPreset(emptyForm, efficient, false)
    expect(withoutGpu.quantization).toBe('none')
    expect(quantizationNote(efficient, false)).toBe(
      'Efficient (QLoRA) loads the model in 4-bit, which needs an NVIDIA GPU with CUDA; none was found, so the job trains without quantization.',
    )
    // What the form shows is what is sent: "none" beats the preset's 4-bit on the host.
    expect(checkNewJobForm(withoutGpu)).toEqual({ ok: true, input: { model: { kind: 'selftest' }, preset: 'efficient', quantization: 'none', batchSize: 1, trainOnInputs: false, rslora: false, dora: false } })
    expect(quantizationNote(basic, false)).toBeNull()
    // A preset that says nothing about loading keeps the box as it was.
    expect(applyPreset({ ...emptyForm, quantization: '4bit' }, basic, true).quantization).toBe('4bit')
  })

  it('finds CUDA from the GPU sample and the trainer’s torch', () => {
    const gpu: GpuSample = { time: 1, available: true, reason: null, gpus: [{ index: 0, name: 'RTX 4090', utilization: 0, memoryUsedMb: 0, memoryTotalMb: 24000, temperatureC: null, powerW: null }] }
    const none: GpuSample = { time: 1, available: false, reason: 'nvidia-smi not found', gpus: [] }
    const info = (cudaAvailable: boolean, sample: GpuSample) =>
      ({ python: { found: true, cudaAvailable }, gpu: sample }) as unknown as SystemInfo
    expect(cudaPresent(null, gpu)).toBe(true)
    expect(cudaPresent(null, null)).toBe(false)
    expect(cudaPresent(null, none)).toBe(false)
    expect(cudaPresent(info(true, gpu), null)).toBe(true)
    // A GPU, but a torch built without CUDA: 4-bit would fail.
    expect(cudaPresent(info(false, gpu), gpu)).toBe(false)
  })
})
