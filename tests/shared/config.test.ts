import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fieldErrorsOf, jobConfigSchema, labelOf, validationError } from '@shared'
import { fixtures, readJsonFolder } from './vectors'

describe('job config vectors', () => {
  const valid = readJsonFolder('config/valid')
  const invalid = readJsonFolder('config/invalid')
  const cases = (
    JSON.parse(readFileSync(join(fixtures, 'config/invalid/cases.json'), 'utf8')) as { cases: Record<string, { field: string }> }
  ).cases

  it('accepts every valid config and fills the same defaults the trainer uses', () => {
    expect(valid.length).toBeGreaterThan(0)
    for (const [name, config] of valid) {
      const result = jobConfigSchema.safeParse(config)
      expect(result.success, `${name}: ${JSON.stringify(result.error?.issues)}`).toBe(true)
    }
  })

  it('rejects every invalid config, naming the field the trainer names', () => {
    expect(invalid.length).toBeGreaterThan(0)
    for (const [name, config] of invalid) {
      const result = jobConfigSchema.safeParse(config)
      expect(result.success, name).toBe(false)
      const expected = cases[name]
      expect(expected, `${name} has no entry in cases.json`).toBeDefined()
      const error = validationError(result.error!.issues, 'config.json')
      expect(Object.keys(fieldErrorsOf(error)), name).toContain(expected!.field)
      // Told to a person, the same field is named by its label, keyed by the same path.
      const labelled = fieldErrorsOf(validationError(result.error!.issues, 'config.json', jobConfigSchema))
      expect(Object.keys(labelled), name).toContain(expected!.field)
      const parent = expected!.field.split('.').slice(0, -1).join('.')
      const label =
        labelOf(jobConfigSchema, expected!.field) !== expected!.field
          ? labelOf(jobConfigSchema, expected!.field)
          : labelOf(jobConfigSchema, parent)
      expect(labelled[expected!.field], name).toMatch(new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `))
    }
  })

  it('refuses unknown keys', () => {
    const [, config] = valid[0]!
    const result = jobConfigSchema.safeParse({ ...(config as object), surprise: true })
    expect(result.success).toBe(false)
  })
})
