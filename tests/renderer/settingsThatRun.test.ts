/**
 * The value an empty new-job field shows is the value the job runs with: the form calls the
 * host's merge (mergeJobConfig) with the self-test's settings and the preset, read here from
 * the files the host reads (resources/selftest/job.json, resources/presets/).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { jobSettingsSchema } from '@shared/config'
import { selftestLayer } from '@shared/configMerge'
import { presetSchema } from '@shared/jobs'
import { settingsThatRun } from '../../renderer/src/logic/settingsThatRun'

const resources = join(import.meta.dirname, '..', '..', 'resources')
const {
  description: _description,
  datasetFile: _datasetFile,
  ...selftestFile
} = JSON.parse(readFileSync(join(resources, 'selftest', 'job.json'), 'utf8')) as Record<string, unknown>
const selftest = jobSettingsSchema.parse(selftestFile)
const basic = presetSchema.parse({ id: 'basic', ...(JSON.parse(readFileSync(join(resources, 'presets', 'basic.json'), 'utf8')) as object) })

describe('settingsThatRun', () => {
  it("shows the self-test's own learning rate and batch, not the schema's defaults", () => {
    const underlying = settingsThatRun({ selftest, quantization: 'none' })
    expect(underlying('training.learningRate')).toEqual({ value: 0.01, from: 'Self-test' })
    expect(underlying('training.batchSize')).toEqual({ value: 8, from: 'Self-test' })
    expect(underlying('training.packing')).toEqual({ value: false, from: 'Self-test' })
    expect(underlying('training.checkpointEvery').from).toBe('Default')
  })

  it('shows the defaults for a model folder, and the preset over the self-test where it has a value', () => {
    expect(settingsThatRun({ quantization: 'none' })('training.learningRate')).toEqual({ value: 2e-4, from: 'Default' })
    const both = settingsThatRun({ selftest, preset: basic, quantization: 'none' })
    expect(both('training.batchSize')).toEqual({ value: 4, from: 'Preset' })
    expect(both('training.maxSeqLength')).toEqual({ value: 1024, from: 'Preset' })
    // The preset has no seed: the self-test's stays.
    expect(both('training.seed')).toEqual({ value: 42, from: 'Self-test' })
  })

  it("leaves out the self-test's dataset settings when the user chose a dataset, as the host does", () => {
    expect(selftestLayer(selftest, true).dataset).toBeUndefined()
    expect(selftestLayer(selftest, false).dataset).toEqual({ format: 'alpaca' })
  })
})
