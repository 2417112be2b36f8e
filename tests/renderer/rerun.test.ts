/** "Run again": the new job's input carries the old job's settings, accepted by the create schema. */
import { describe, expect, it } from 'vitest'
import { jobConfigSchema } from '@shared/config'
import { newJobInputSchema } from '@shared/jobs'
import { mergeJobConfig } from '@shared/configMerge'
import { checkpointOf, rerunInput, rerunName } from '../../renderer/src/logic/rerun'

const failed = jobConfigSchema.parse({
  version: 1,
  jobId: 'old',
  method: 'dpo',
  model: { path: '/models/qwen', quantization: '4bit' },
  dataset: { path: '/data/pairs.jsonl', format: 'preference', badRows: 'skip' },
  lora: { rank: 32, alpha: 64 },
  training: { learningRate: 1e-4, epochs: 2, gradientCheckpointing: true },
  dpo: { beta: 0.2 },
  resumeFrom: 'pause-12',
  initFrom: '/home/u/.config/Tunedeck/jobs/sft1/checkpoints/step-40',
  initOptimizer: true,
})

describe('run again', () => {
  it('sends every setting of the old job, its checkpoint as a job and name, not its resume point', () => {
    const input = newJobInputSchema.parse(rerunInput(failed, 'DPO run (2)'))
    expect(input).toMatchObject({
      name: 'DPO run (2)',
      method: 'dpo',
      model: { path: '/models/qwen', quantization: '4bit' },
      initFrom: { jobId: 'sft1', checkpoint: 'step-40', optimizer: true },
    })
    // Merged as the host merges it, the new config equals the old one but for its id and resume point.
    const merged = mergeJobConfig({
      jobId: 'new',
      model: { path: '/models/qwen', selftest: false },
      datasetPath: '/data/pairs.jsonl',
      user: input,
      checkpoint: { folder: failed.initFrom!, model: { path: '/models/qwen', selftest: false }, lora: {}, optimizer: true },
    })
    expect(merged.data).toEqual({ ...failed, jobId: 'new', resumeFrom: null })
  })

  it('reads the job and checkpoint of a checkpoint folder, on either kind of path', () => {
    expect(checkpointOf('/d/jobs/abc/checkpoints/step-4')).toEqual({ jobId: 'abc', checkpoint: 'step-4' })
    expect(checkpointOf('C:\\Users\\u\\Tunedeck\\jobs\\abc\\checkpoints\\pause-2\\')).toEqual({ jobId: 'abc', checkpoint: 'pause-2' })
    expect(checkpointOf('/elsewhere/adapter')).toBeNull()
  })

  it('numbers the new job after the old one', () => {
    expect(rerunName('Qwen on alpaca')).toBe('Qwen on alpaca (2)')
    expect(rerunName('Qwen on alpaca (2)')).toBe('Qwen on alpaca (3)')
  })
})
