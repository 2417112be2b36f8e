/**
 * What a new-job form field left empty runs with. The host builds config.json with
 * mergeJobConfig (defaults < the self-test's own settings < preset < user); the form calls the
 * same function with the layers it knows, so the value shown in an empty field is the value
 * the job gets, and says which layer it came from.
 */
import type { JobSettings } from '@shared/config'
import { mergeJobConfig } from '@shared/configMerge'
import type { Preset } from '@shared/jobs'
import { settingInfo } from './settingFields'

/** Where an empty field's value comes from, as the form words it. */
export type ValueSource = 'Preset' | 'Self-test' | 'Default'

/** The value an empty field runs with, and which layer gave it. */
export interface UnderlyingValue {
  value: unknown
  from: ValueSource
}

/** Reads the value behind each empty field. */
export type Underlying = (path: string) => UnderlyingValue

function valueAt(source: unknown, dotted: string): unknown {
  return dotted
    .split('.')
    .reduce<unknown>(
      (node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined),
      source,
    )
}

/**
 * The merged config of a job the form would create with every setting left empty: the
 * self-test's settings when `selftest` is given (the self-test model is chosen), then the
 * preset's. Falls back to the schema's defaults if the layers do not parse.
 */
export function settingsThatRun(layers: { selftest?: JobSettings; preset?: Preset; quantization: 'none' | '4bit' }): Underlying {
  const merged = mergeJobConfig({
    jobId: 'form',
    model: { path: 'model', selftest: false },
    datasetPath: 'dataset',
    selftest: layers.selftest,
    preset: layers.preset,
    user: { model: { quantization: layers.quantization } },
  })
  const config = merged.success ? merged.data : undefined
  return (path) => {
    const from: ValueSource =
      valueAt(layers.preset, path) !== undefined ? 'Preset' : valueAt(layers.selftest, path) !== undefined ? 'Self-test' : 'Default'
    const value = config === undefined ? settingInfo(path).default : valueAt(config, path)
    return { value, from }
  }
}
