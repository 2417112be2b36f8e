/** The new-job form's own checks and where the host's field errors are shown. */
import { describe, expect, it } from 'vitest'
import { newJobInputSchema, type Job, type Preset } from '@shared/jobs'
import type { GpuSample, SystemInfo } from '@shared/system'
import { cudaPresent, quantizationNote } from '../../renderer/src/logic/advancedSettings'
import {
  applyPreset,
  checkNewJobForm,
  emptyForm,
  formFromCheckpoint,
  formFromJob,
  placeServerErrors,
  type NewJobFormValues,
} from '../../renderer/src/logic/newJobForm'
import { jobConfigSchema } from '@shared/config'
import { settingFields, settingInfo, shownSettings } from '../../renderer/src/logic/settingFields'

/** The empty form with some settings typed, by config path. */
function withSettings(settings: Record<string, string | boolean>, values: Partial<NewJobFormValues> = {}): NewJobFormValues {
  return { ...emptyForm, ...values, settings: { ...emptyForm.settings, ...settings } }
}

const custom = { modelKind: 'path' as const, modelPath: '/m', datasetPath: '/d.csv' }

describe('checkNewJobForm', () => {
  it('sends only the model for an untouched self-test form', () => {
    expect(checkNewJobForm(emptyForm)).toEqual({ ok: true, input: { model: { selftest: true } } })
  })

  it('builds an input in config.json’s shape that the contract accepts', () => {
    const check = checkNewJobForm(
      withSettings(
        {
          'lora.rank': '8',
          'lora.alpha': '16',
          'training.learningRate': '1e-4',
          'training.epochs': '2',
          'training.batchSize': '2',
          'training.maxSeqLength': '512',
          'training.checkpointEvery': '50',
          'training.keepCheckpoints': '3',
        },
        { modelKind: 'path', modelPath: ' /models/qwen ', datasetPath: '/data/train.jsonl' },
      ),
    )
    expect(check).toEqual({
      ok: true,
      input: {
        model: { path: '/models/qwen' },
        dataset: { path: '/data/train.jsonl' },
        lora: { rank: 8, alpha: 16 },
        training: { learningRate: 1e-4, epochs: 2, batchSize: 2, maxSeqLength: 512, checkpointEvery: 50, keepCheckpoints: 3 },
      },
    })
    expect(check.ok && newJobInputSchema.safeParse(check.input).success).toBe(true)
  })

  it('names each field out of range by its label, with the range the schema gives, beside its config path', () => {
    const check = checkNewJobForm(
      withSettings({
        'lora.rank': '0',
        'training.learningRate': '2',
        'training.batchSize': '1.5',
        'training.maxSeqLength': 'abc',
        'training.epochs': '-1',
        'lora.alpha': '5000',
        'training.keepCheckpoints': '0',
      }),
    )
    expect(check).toEqual({
      ok: false,
      general: [],
      errors: {
        'lora.rank': 'LoRA rank: expected a whole number from 1 to 1024, got 0',
        'lora.alpha': 'LoRA alpha: expected a number above 0 and at most 4096, got 5000',
        'training.learningRate': 'Learning rate: expected a number above 0 and at most 1, got 2',
        'training.batchSize': 'Batch size: expected a whole number from 1 to 1024, got 1.5',
        'training.maxSeqLength': 'Max sequence length: expected a whole number from 16 to 131072, got "abc"',
        'training.epochs': 'Epochs: expected a number above 0 and at most 100, got -1',
        'training.keepCheckpoints': 'Periodic checkpoints kept: expected a whole number from 1 to 100, got 0',
      },
    })
  })

  it('asks for the model and the dataset when not running the self-test', () => {
    const check = checkNewJobForm({ ...emptyForm, modelKind: 'path' })
    expect(check.ok).toBe(false)
    if (check.ok) return
    expect(Object.keys(check.errors).sort()).toEqual(['dataset.path', 'model.path'])
    expect(check.errors['model.path']).toBe('Model: choose a model folder or hub id, or the self-test model')
    expect(check.errors['dataset.path']).toMatch(/^Dataset: choose a dataset file/)
  })
})

describe('the settings list', () => {
  it('takes each label, kind and default from the config schema', () => {
    expect(settingInfo('lora.rank')).toMatchObject({ label: 'LoRA rank', kind: 'number', default: 16 })
    expect(settingInfo('dataset.badRows')).toMatchObject({ label: 'Bad rows', kind: 'choice', default: 'fail', values: ['fail', 'skip'] })
    expect(settingInfo('lora.dora')).toMatchObject({ label: 'DoRA', kind: 'boolean', default: false })
    // Every entry names a field the schema has.
    for (const field of settingFields) expect(settingInfo(field.path).label, field.path).not.toBe(field.path)
  })

  it('shows DPO beta for DPO, and the KTO weights for KTO', () => {
    const advanced = (method: 'sft' | 'dpo' | 'kto') => shownSettings('advanced', method).map((field) => field.path)
    expect(advanced('sft')).not.toContain('dpo.beta')
    expect(advanced('dpo')).toContain('dpo.beta')
    expect(advanced('kto')).toEqual(expect.arrayContaining(['kto.desirableWeight', 'kto.undesirableWeight']))
    expect(advanced('kto')).not.toContain('dpo.beta')
  })

  it('shows each method’s own section from the method table, with its hint: ORPO’s beta for ORPO alone', () => {
    expect(shownSettings('advanced', 'orpo').filter((field) => field.method !== undefined)).toEqual([
      {
        path: 'orpo.beta',
        testId: 'orpo-beta',
        place: 'advanced',
        method: 'orpo',
        hint: 'Weight of preferring the chosen answer, beside learning it.',
      },
    ])
    expect(settingInfo('orpo.beta')).toMatchObject({ label: 'ORPO beta (lambda)', kind: 'number', default: 0.1 })
    expect(shownSettings('advanced', 'dpo').map((field) => field.path)).not.toContain('orpo.beta')
    const typed = { 'orpo.beta': '0.25', 'dpo.beta': '0.5' }
    expect(checkNewJobForm(withSettings(typed, { method: 'orpo' }))).toEqual({
      ok: true,
      input: { model: { selftest: true }, method: 'orpo', orpo: { beta: 0.25 } },
    })
  })
})

describe('placeServerErrors', () => {
  it('puts the host’s fields beside the form field they are, or are inside of, and the rest at the top', () => {
    const placed = placeServerErrors({
      'model.path': 'Model: no model folder at /models/x',
      'dataset.path': 'Dataset: line 3: not JSON',
      'training.learningRate': 'Learning rate: too large',
      'lora.targetModules.1': 'LoRA target modules: expected non-empty text, got ""',
      'dataset.columns.prompt': 'Column mapping: "prompt" is not mapped',
      'initFrom.jobId': 'Starting checkpoint: required',
      'training.warmupRatio': 'Warmup ratio: expected a number from 0 to 0.5, got 0.9',
    })
    expect(placed.byField).toEqual({
      'model.path': 'Model: no model folder at /models/x',
      'dataset.path': 'Dataset: line 3: not JSON',
      'training.learningRate': 'Learning rate: too large',
      'lora.targetModules': 'LoRA target modules: expected non-empty text, got ""',
      'dataset.columns': 'Column mapping: "prompt" is not mapped',
      initFrom: 'Starting checkpoint: required',
    })
    expect(placed.general).toEqual(['Warmup ratio: expected a number from 0 to 0.5, got 0.9'])
  })
})

describe('presets', () => {
  it('fill the fields the preset sets and keep the others', () => {
    const preset: Preset = { id: 'small', name: 'Small', description: '', lora: { rank: 8 }, training: { learningRate: 0.0003 } }
    const values = applyPreset(withSettings({ 'training.batchSize': '2' }), preset)
    expect(values.preset).toBe('small')
    expect(values.settings).toMatchObject({
      'lora.rank': '8',
      'training.learningRate': '0.0003',
      'training.batchSize': '2',
      'lora.alpha': '',
    })
    expect(applyPreset(values, undefined).preset).toBe('')
    const check = checkNewJobForm({ ...values, settings: { ...values.settings, 'training.epochs': '1' } })
    expect(check.ok && check.input).toMatchObject({ preset: 'small', lora: { rank: 8 }, training: { epochs: 1, learningRate: 0.0003 } })
  })

  it('send switches that are off while a preset is chosen, so unticking beats the preset', () => {
    const preset: Preset = {
      id: 'advanced',
      name: 'Advanced',
      description: '',
      lora: { rslora: true },
      training: { packing: true, gradientAccumulation: 8 },
    }
    const values = applyPreset({ ...emptyForm, ...custom }, preset)
    expect(values.settings).toMatchObject({
      'lora.rslora': true,
      'training.packing': 'on',
      'training.gradientAccumulation': '8',
      'training.trainOnInputs': false,
      'lora.dora': false,
    })
    const check = checkNewJobForm({ ...values, settings: { ...values.settings, 'lora.rslora': false } })
    expect(check.ok && check.input).toMatchObject({
      preset: 'advanced',
      model: { quantization: 'none' },
      lora: { rslora: false, dora: false },
      training: { trainOnInputs: false, packing: true, gradientAccumulation: 8 },
    })
  })

  it('tick 4-bit where there is a CUDA GPU, and leave it off with a note where there is none', () => {
    const efficient: Preset = {
      id: 'efficient',
      name: 'Efficient (QLoRA)',
      description: '',
      model: { quantization: '4bit' },
      lora: {},
      training: { batchSize: 1 },
    }
    const basic: Preset = { id: 'basic', name: 'Basic', description: '', lora: {}, training: {} }
    expect(applyPreset(emptyForm, efficient, true).quantization).toBe('4bit')
    expect(quantizationNote(efficient, true)).toBeNull()
    const withoutGpu = applyPreset(emptyForm, efficient, false)
    expect(withoutGpu.quantization).toBe('none')
    expect(quantizationNote(efficient, false)).toBe(
      'Efficient (QLoRA) loads the model in 4-bit, which needs an NVIDIA GPU with CUDA; none was found, so the job trains without quantization.',
    )
    // What the form shows is what is sent: "none" beats the preset's 4-bit on the host.
    expect(checkNewJobForm(withoutGpu)).toEqual({
      ok: true,
      input: {
        model: { selftest: true, quantization: 'none' },
        preset: 'efficient',
        dataset: { textSplit: 'auto', csvHeader: 'auto', badRows: 'fail' },
        lora: { rslora: false, dora: false },
        training: { batchSize: 1, trainOnInputs: false },
      },
    })
    expect(quantizationNote(basic, false)).toBeNull()
    // A preset that says nothing about loading keeps the box as it was.
    expect(applyPreset({ ...emptyForm, quantization: '4bit' }, basic, true).quantization).toBe('4bit')
  })
})

describe('method, format and the Advanced section', () => {
  it('sends the method, format and 4-bit loading only when they differ from the defaults', () => {
    const check = checkNewJobForm({
      ...emptyForm,
      modelKind: 'path',
      modelPath: '/m',
      datasetPath: '/d.json',
      method: 'dpo',
      datasetFormat: 'preference',
      quantization: '4bit',
    })
    expect(check.ok && check.input).toEqual({
      model: { path: '/m', quantization: '4bit' },
      dataset: { path: '/d.json', format: 'preference' },
      method: 'dpo',
    })
    // The self-test ignores a format chosen before switching to it: its own data has one.
    expect(checkNewJobForm({ ...emptyForm, datasetFormat: 'text' })).toEqual({ ok: true, input: { model: { selftest: true } } })
  })

  it('sends what was typed, under its config name', () => {
    const check = checkNewJobForm(
      withSettings(
        {
          'training.gradientAccumulation': '8',
          'dataset.validationSplit': '0.1',
          'dataset.badRows': 'skip',
          'training.packing': 'off',
          'training.trainOnInputs': true,
          'lora.dropout': '0',
          'lora.rslora': true,
          'lora.dora': true,
          'dpo.beta': '0.2',
        },
        {
          ...custom,
          method: 'dpo',
          targetModules: ' q_proj , v_proj ',
          columns: [
            { field: 'prompt', column: 'question' },
            { field: '', column: '' },
            { field: 'chosen', column: 'good' },
          ],
        },
      ),
    )
    expect(check.ok && check.input).toEqual({
      model: { path: '/m' },
      method: 'dpo',
      dataset: { path: '/d.csv', validationSplit: 0.1, badRows: 'skip', columns: { prompt: 'question', chosen: 'good' } },
      training: { gradientAccumulation: 8, packing: false, trainOnInputs: true },
      lora: { dropout: 0, targetModules: ['q_proj', 'v_proj'], rslora: true, dora: true },
      dpo: { beta: 0.2 },
    })
  })

  it('sends the KTO weights for KTO only, and leaves out DPO beta for SFT', () => {
    const typed = { 'kto.desirableWeight': '1.5', 'kto.undesirableWeight': '0.5', 'dpo.beta': '-3' }
    expect(checkNewJobForm(withSettings(typed, { method: 'kto' }))).toEqual({
      ok: true,
      input: { model: { selftest: true }, method: 'kto', kto: { desirableWeight: 1.5, undesirableWeight: 0.5 } },
    })
    expect(checkNewJobForm(withSettings(typed, { method: 'sft' }))).toEqual({ ok: true, input: { model: { selftest: true } } })
    const refused = checkNewJobForm(withSettings({ 'kto.desirableWeight': '0' }, { method: 'kto' }))
    expect(!refused.ok && refused.errors['kto.desirableWeight']).toBe('Desirable weight: expected a number above 0 and at most 100, got 0')
  })

  it('names each Advanced field out of range', () => {
    const check = checkNewJobForm(
      withSettings(
        { 'training.gradientAccumulation': '0', 'dataset.validationSplit': '0.6', 'lora.dropout': '1', 'dpo.beta': '0' },
        { ...custom, method: 'dpo', targetModules: 'q proj, v_proj', columns: [{ field: 'output', column: '' }] },
      ),
    )
    expect(!check.ok && check.errors).toEqual({
      'training.gradientAccumulation': 'Gradient accumulation: expected a whole number from 1 to 1024, got 0',
      'dataset.validationSplit': 'Validation split: expected a number from 0 to 0.5, got 0.6',
      'lora.dropout': 'LoRA dropout: expected a number from 0 to 0.9, got 1',
      'dpo.beta': 'DPO beta: expected a number above 0 and at most 10, got 0',
      'lora.targetModules':
        'LoRA target modules must be "all-linear" or module names separated by commas, such as q_proj, v_proj; "q proj" is not a module name.',
      'dataset.columns': 'Column mapping: name the file\'s column that holds "output".',
    })
  })

  it('refuses a column mapping with a field mapped twice or no field chosen', () => {
    const twice = checkNewJobForm({
      ...emptyForm,
      ...custom,
      columns: [
        { field: 'output', column: 'a' },
        { field: 'output', column: 'b' },
      ],
    })
    expect(!twice.ok && twice.errors['dataset.columns']).toBe('Column mapping: "output" is mapped twice; keep one row for it.')
    const noField = checkNewJobForm({ ...emptyForm, ...custom, columns: [{ field: '', column: 'answer' }] })
    expect(!noField.ok && noField.errors['dataset.columns']).toMatch(
      /^Column mapping: choose one of Tunedeck's fields \(instruction, input, output/,
    )
  })
})

describe('a job from another job’s checkpoint', () => {
  const source = {
    id: 'job-1',
    name: 'my run',
    config: {
      method: 'sft',
      model: { path: '/models/qwen', selftest: false, quantization: 'none' },
      dataset: { path: '/data/train.jsonl', format: 'alpaca', columns: {}, badRows: 'skip', validationSplit: 0 },
      lora: { rank: 8, alpha: 16, dropout: 0.05, targetModules: ['q_proj', 'v_proj'], rslora: true, dora: false },
    },
  } as unknown as Job

  it('keeps the model and data of the source job and shows its LoRA shape', () => {
    const values = formFromCheckpoint(source, { name: 'step-40' })
    expect(values).toMatchObject({
      modelKind: 'path',
      modelPath: '/models/qwen',
      datasetPath: '/data/train.jsonl',
      datasetFormat: 'alpaca',
      targetModules: 'q_proj, v_proj',
      columns: [],
    })
    expect(values.settings).toMatchObject({
      'lora.rank': '8',
      'lora.alpha': '16',
      'lora.dropout': '0.05',
      'lora.rslora': true,
      'lora.dora': false,
      'dataset.badRows': 'skip',
    })
    expect(values.initFrom).toEqual({ jobId: 'job-1', checkpoint: 'step-40', jobName: 'my run', optimizer: false })
  })

  it('sends initFrom and no LoRA shape, since the host takes it from the checkpoint', () => {
    const check = checkNewJobForm(formFromCheckpoint(source, { name: 'step-40' }))
    expect(check.ok && check.input).toEqual({
      model: { path: '/models/qwen' },
      dataset: { path: '/data/train.jsonl', format: 'alpaca', badRows: 'skip' },
      initFrom: { jobId: 'job-1', checkpoint: 'step-40', optimizer: false },
    })
    // Ticking "continue its optimizer state" sends it (config.json initOptimizer).
    const values = formFromCheckpoint(source, { name: 'step-40' })
    const continued = checkNewJobForm({ ...values, initFrom: { ...values.initFrom!, optimizer: true } })
    expect(continued.ok && continued.input.initFrom).toEqual({ jobId: 'job-1', checkpoint: 'step-40', optimizer: true })
  })

  it('keeps the checkpoint’s LoRA shape when a preset is chosen, and does not send it', () => {
    const preset: Preset = {
      id: 'big',
      name: 'Big',
      description: '',
      lora: { rank: 64, alpha: 128, dropout: 0.1, targetModules: 'all-linear' },
      training: { epochs: 2 },
    }
    const values = applyPreset(formFromCheckpoint(source, { name: 'step-40' }), preset)
    expect(values.settings).toMatchObject({
      'lora.rank': '8',
      'lora.alpha': '16',
      'training.epochs': '2',
      'lora.dropout': '0.05',
      'lora.rslora': true,
    })
    expect(values.targetModules).toBe('q_proj, v_proj')
    const check = checkNewJobForm(values)
    expect(check.ok && check.input.lora).toBeUndefined()
  })

  it('starts a self-test checkpoint with the self-test model and its bundled data', () => {
    const selftest = {
      ...source,
      config: {
        ...source.config,
        model: { path: '/data/selftest-model', selftest: true, quantization: 'none' },
        dataset: { ...source.config.dataset, badRows: 'fail' },
      },
    } as Job
    const check = checkNewJobForm(formFromCheckpoint(selftest, { name: 'pause-12' }))
    expect(check.ok && check.input).toEqual({
      model: { selftest: true },
      initFrom: { jobId: 'job-1', checkpoint: 'pause-12', optimizer: false },
    })
  })
})

describe('CUDA for 4-bit loading', () => {
  it('is found from the GPU sample and the trainer’s torch', () => {
    const gpu: GpuSample = {
      time: 1,
      available: true,
      reason: null,
      gpus: [{ index: 0, name: 'RTX 4090', utilization: 0, memoryUsedMb: 0, memoryTotalMb: 24000, temperatureC: null, powerW: null }],
    }
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

describe('change and run again', () => {
  const config = jobConfigSchema.parse({
    version: 1,
    jobId: 'job-2',
    model: { path: '/models/qwen' },
    dataset: { path: '/data/train.jsonl', format: 'alpaca', badRows: 'skip' },
    lora: { rank: 8, alpha: 16, targetModules: ['q_proj', 'v_proj'] },
    training: { learningRate: 5e-5, epochs: 2, batchSize: 2, packing: false },
  })
  const job = { id: 'job-2', name: 'my run', config } as unknown as Job

  it('fills the form with what the job ran with, named as the next run, so starting it unchanged sends the same settings', () => {
    const values = formFromJob(job, 'my run (2)')
    expect(values).toMatchObject({
      name: 'my run (2)',
      modelKind: 'path',
      modelPath: '/models/qwen',
      datasetPath: '/data/train.jsonl',
      datasetFormat: 'alpaca',
      targetModules: 'q_proj, v_proj',
      initFrom: null,
    })
    expect(values.settings).toMatchObject({
      'training.learningRate': '0.00005',
      'training.epochs': '2',
      'lora.rank': '8',
      'training.packing': 'off',
      'dataset.badRows': 'skip',
    })
    const check = checkNewJobForm(values)
    if (!check.ok) throw new Error(JSON.stringify(check.errors))
    expect(check.input.training).toMatchObject({
      learningRate: 5e-5,
      epochs: 2,
      batchSize: 2,
      packing: false,
      maxSeqLength: config.training.maxSeqLength,
    })
    expect(check.input.lora).toMatchObject({ rank: 8, alpha: 16, targetModules: ['q_proj', 'v_proj'] })
    // A change is the only difference.
    const changed = checkNewJobForm({ ...values, settings: { ...values.settings, 'training.epochs': '5' } })
    expect(changed.ok && changed.input.training?.epochs).toBe(5)
  })
})
